import { expectOp } from '../test/support/flows.ts';
import { registerQuestions, registerStart, registerTotp } from '../test/support/gates.ts';
import { startStack, type Stack } from '../test/support/stack.ts';
import { median } from '../test/support/timing.ts';

describe('prof', function () {
  this.timeout(600_000);
  it('profiles start', async () => {
    const stack: Stack = await startStack({ agent: { gates: { totp: { enabled: true }, questions: { enabled: true, hashCost: 12 }, maxFailuresPerHour: 100000, maxSendsPerHour: 100000 } },
      relay: { limits: { connectionsPerAddress: { perSecond: 1000, burst: 1000 }, framesPerAddress: { perSecond: 5000, burst: 5000 } } } });
    const reg = await stack.directory.createUser(stack.directory.uniqueName('preg'));
    const s = await stack.openSession();
    expectOp(await registerStart(s, reg.sam, reg.password), 'registration');
    await registerTotp(s);
    await registerQuestions(s, { 'first-pet': 'Rex', 'first-car': 'Fiat Panda', 'first-school': 'Lindenschule' });
    s.close();
    const un = await stack.directory.createUser(stack.directory.uniqueName('pun'), { mail: null });
    const flow = (stack.agent!.sessions as any).options.flow;
    const times: Record<string, Record<string, number[]>> = {};
    let current = '';
    const wrap = (obj: any, name: string, label: string) => {
      const orig = obj[name].bind(obj);
      obj[name] = async (...args: any[]) => { const t = performance.now(); try { return await orig(...args); } finally { ((times[current] ??= {})[label] ??= []).push(performance.now() - t); } };
    };
    wrap(flow.directory, 'findUser', 'findUser');
    wrap(flow.directory, 'policyFor', 'policyFor');
    wrap(flow.gates, 'offer', 'offer');
    wrap(flow.throttle, 'isBlocked', 'isBlocked');
    const ids: Record<string, string> = { registered: reg.sam, unregistered: un.sam, unknown: 'nobody-prof-x' };
    for (let i = 0; i < 300; i++) {
      for (const k of Object.keys(ids)) {
        const sess = await stack.openSession();
        current = k;
        const t = performance.now();
        await sess.request({ op: 'start', action: 'reset', user: ids[k]! });
        ((times[k] ??= {})['total'] ??= []).push(performance.now() - t);
        sess.close();
      }
    }
    for (const [k, v] of Object.entries(times)) console.error(k, Object.entries(v).map(([l, xs]) => `${l}=${median(xs.slice(30)).toFixed(3)}`).join(' '));
    await stack.stop();
  });
});
