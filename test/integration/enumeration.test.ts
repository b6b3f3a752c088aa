/**
 * User enumeration: an unknown id, a known registered person and a known person who has not
 * registered (decoy gates) must get answers of the same shape, in the same time. Driven through
 * the real client, relay, agent and directory; each try is a fresh session, like an attacker's.
 *
 * Timing on a noisy shared 2-core machine, robustly:
 * - the three kinds are interleaved in a random order within every round, so drift (other
 *   processes, GC, the DC warming up) hits all three alike;
 * - each step is compared pairwise with a rank test (Mann–Whitney U, insensitive to outliers)
 *   and the Hodges–Lehmann shift estimate (the median of all pairwise differences);
 * - a difference counts as "beyond noise" only when it is both significant (p < 0.001) and
 *   larger than TOLERANCE_MS.
 *
 * Why 1.5 ms: identical requests measured this way on this machine differ by a few tenths of a
 * millisecond between runs (the A/A line printed with UNLATCH_TEST_TIMING_LOG=1); 1.5 ms is
 * safely above that and well below the 5 ms the test must catch. The power check at the end
 * injects exactly that — 5 ms more for unknown ids — and asserts the same procedure flags it, so
 * the test cannot silently lose its teeth.
 */
import assert from 'node:assert/strict';
import type { ClientSession } from '../../protocol/client.ts';
import type { AgentMessage } from '../../protocol/messages.ts';
import { expectOp } from '../support/flows.ts';
import { registerQuestions, registerStart, registerTotp } from '../support/gates.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { hodgesLehmann, mannWhitney, median, shuffle, trimmedMean } from '../support/timing.ts';

const TRIES = Math.max(200, Number(process.env['UNLATCH_ENUM_TRIES'] ?? 200));
const TOLERANCE_MS = 1.5;
const ALPHA = 0.001;
const INJECTED_MS = 5;

type Kind = 'unknown' | 'registered' | 'unregistered';
type Step = 'start' | 'send' | 'verify';
type Samples = Record<Kind, Record<Step, number[]>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keys and value types at every level; arrays by the set of their elements' shapes (decoys hold as many gates as a person might). */
function schemaOf(value: unknown): unknown {
  if (Array.isArray(value)) return [...new Set(value.map((v) => JSON.stringify(schemaOf(v))))].sort();
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, schemaOf(v)]));
  }
  return typeof value;
}

async function timed(session: ClientSession, message: Parameters<ClientSession['request']>[0]): Promise<{ ms: number; answer: AgentMessage }> {
  const t0 = performance.now();
  const answer = await session.request(message);
  return { ms: performance.now() - t0, answer };
}

function compare(a: number[], b: number[]) {
  const shift = hodgesLehmann(a, b);
  const { p } = mannWhitney(a, b);
  return { shift, p, beyondNoise: Math.abs(shift) > TOLERANCE_MS && p < ALPHA };
}

describe('User enumeration', function () {
  this.timeout(600_000);
  let stack: Stack;
  const ids = {} as Record<Kind, string>;

  before(async () => {
    stack = await startStack({
      agent: {
        gates: {
          totp: { enabled: true },
          questions: { enabled: true, hashCost: 12 },
          // Hundreds of wrong codes and sends for the same three ids: no throttle in the way.
          maxFailuresPerHour: 100_000,
          maxSendsPerHour: 100_000,
        },
      },
      relay: { limits: { connectionsPerAddress: { perSecond: 1000, burst: 1000 }, framesPerAddress: { perSecond: 5000, burst: 5000 } } },
    });
    const registered = await stack.directory.createUser(stack.directory.uniqueName('enreg'));
    const session = await stack.openSession();
    expectOp(await registerStart(session, registered.sam, registered.password), 'registration');
    await registerTotp(session);
    await registerQuestions(session, { 'first-pet': 'Rex', 'first-car': 'Fiat Panda', 'first-school': 'Lindenschule' });
    session.close();
    const unregistered = await stack.directory.createUser(stack.directory.uniqueName('enun'), { mail: null });
    ids.registered = registered.sam;
    ids.unregistered = unregistered.sam;
    ids.unknown = `${stack.directory.uniqueName('ennobody')}`;
  });
  after(async () => {
    await stack?.stop();
  });

  /** `tries` rounds; in each, every kind once, in a random order per step. */
  async function sample(kinds: Kind[], tries: number, steps: Step[]): Promise<{ samples: Samples; first: Record<Kind, AgentMessage[]> }> {
    const samples = Object.fromEntries(kinds.map((k) => [k, { start: [], send: [], verify: [] }])) as unknown as Samples;
    const first = {} as Record<Kind, AgentMessage[]>;
    for (let round = 0; round < tries; round++) {
      const sessions = new Map<Kind, ClientSession>();
      for (const k of shuffle([...kinds])) sessions.set(k, await stack.openSession());
      const gates = new Map<Kind, string>();
      const answers = new Map<Kind, AgentMessage[]>();
      for (const k of shuffle([...kinds])) {
        const { ms, answer } = await timed(sessions.get(k)!, { op: 'start', action: 'reset', user: ids[k] });
        samples[k].start.push(ms);
        gates.set(k, expectOp(answer, 'challenge').gates[0]!.id);
        answers.set(k, [answer]);
      }
      if (steps.includes('send')) {
        for (const k of shuffle([...kinds])) {
          const { ms, answer } = await timed(sessions.get(k)!, { op: 'gate.send', gate: gates.get(k)! });
          samples[k].send.push(ms);
          answers.get(k)!.push(answer);
          // Let a real code's SMTP delivery (it starts 10 ms after the answer) finish before the
          // next timed request, whoever it is for: the SMTP server runs in this process too.
          await sleep(40);
        }
      }
      if (steps.includes('verify')) {
        for (const k of shuffle([...kinds])) {
          const { ms, answer } = await timed(sessions.get(k)!, { op: 'gate.verify', gate: gates.get(k)!, code: '12345678' });
          samples[k].verify.push(ms);
          answers.get(k)!.push(answer);
        }
      }
      for (const s of sessions.values()) s.close();
      if (round === 0) for (const k of kinds) first[k] = answers.get(k)!;
    }
    return { samples, first };
  }

  it(`answers an unknown id, a registered and an unregistered person alike: same shape, no timing difference beyond noise (${TRIES} tries each)`, async () => {
    // Warm-up: connections, JIT, caches.
    await sample(['unknown', 'registered', 'unregistered'], 10, ['start', 'send', 'verify']);
    const { samples, first } = await sample(['unknown', 'registered', 'unregistered'], TRIES, ['start', 'send', 'verify']);

    // Shape: the same keys and types everywhere; the same error for a wrong code, word for word.
    for (const k of ['unknown', 'unregistered'] as const) {
      assert.deepEqual(first[k].slice(0, 2).map(schemaOf), first.registered.slice(0, 2).map(schemaOf), `${k}: shape`);
      assert.deepEqual(first[k][2], first.registered[2], `${k}: wrong-code answer`);
      const challenge = expectOp(first[k][0]!, 'challenge');
      assert.equal(challenge.gates[0]!.method, 'email');
      assert.match(challenge.gates[0]!.hint, /^[a-z]•••@corp\.example$/);
    }

    const lines: string[] = [];
    const problems: string[] = [];
    for (const step of ['start', 'send', 'verify'] as const) {
      lines.push(
        `${step}: median ${(['unknown', 'registered', 'unregistered'] as const).map((k) => `${k} ${median(samples[k][step]).toFixed(2)}`).join(', ')} ms; ` +
          `10%-trimmed means ${(['unknown', 'registered', 'unregistered'] as const).map((k) => trimmedMean(samples[k][step]).toFixed(2)).join(' / ')} ms`,
      );
      const reg = samples.registered[step];
      const aa = compare(reg.filter((_, i) => i % 2 === 0), reg.filter((_, i) => i % 2 === 1));
      lines.push(`  A/A (registered, even vs odd rounds): shift ${aa.shift.toFixed(3)} ms, p ${aa.p.toExponential(1)}`);
      for (const [a, b] of [['unknown', 'registered'], ['unregistered', 'registered'], ['unknown', 'unregistered']] as const) {
        const c = compare(samples[a][step], samples[b][step]);
        const line = `  ${a} vs ${b}: shift ${c.shift.toFixed(3)} ms, p ${c.p.toExponential(1)}`;
        lines.push(line);
        if (c.beyondNoise) problems.push(`${step}: ${line.trim()}`);
      }
    }
    if (process.env['UNLATCH_TEST_TIMING_LOG']) process.stderr.write(`${lines.join('\n')}\n`);
    assert.deepEqual(problems, [], `timing differences beyond noise:\n${lines.join('\n')}`);
  });

  it(`has the power to see a ${INJECTED_MS} ms difference: the same procedure flags one injected for unknown ids`, async () => {
    // Reach into the running agent's directory port (test-only): unknown ids answer 5 ms later.
    const port = (stack.agent!.sessions as unknown as { options: { flow: { directory: { findUser(id: string): Promise<unknown> } } } }).options.flow.directory;
    const original = port.findUser.bind(port);
    port.findUser = async (id: string) => {
      const found = await original(id);
      if (id === ids.unknown) await sleep(INJECTED_MS);
      return found;
    };
    try {
      const { samples } = await sample(['unknown', 'registered'], TRIES, ['start']);
      const c = compare(samples.unknown.start, samples.registered.start);
      assert.ok(c.beyondNoise, `an injected ${INJECTED_MS} ms went unnoticed: shift ${c.shift.toFixed(3)} ms, p ${c.p}`);
    } finally {
      port.findUser = original;
    }
  });
});
