/**
 * Abuse resistance, through the real client against the real directory: guessing codes (the
 * throttle and its 24-hour block, on a controllable clock), racing codes, replaying, reordering
 * and downgrading steps, and pumping SMS. "Never reaches the directory" is checked with kinit:
 * the old password still works.
 */
import assert from 'node:assert/strict';
import type { ClientSession } from '../../protocol/client.ts';
import type { AgentMessage } from '../../protocol/messages.ts';
import { expectOp, passEmailGate } from '../support/flows.ts';
import { registerStart, registerTotp, totpCode } from '../support/gates.ts';
import { startStack, type Stack } from '../support/stack.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A clock the agent reads; tests move it instead of sleeping. */
function testClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
}

function codes(answers: AgentMessage[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const key = a.op === 'error' ? a.code : a.op;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

function eventsIn(stack: Stack, from: number, number: number, user?: string): Array<Record<string, unknown>> {
  return stack.agentLogs
    .slice(from)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['event'] === number && (user === undefined || e['user'] === user));
}

async function startAndSend(stack: Stack, user: string, address: string, action: 'reset' | 'unlock' = 'reset') {
  const session = await stack.openSession();
  const challenge = expectOp(await session.request({ op: 'start', action, user }), 'challenge');
  const gate = challenge.gates[0]!;
  const since = stack.mail.messages.length;
  expectOp(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
  const code = await stack.mail.codeFor(address, { since });
  return { session, gate, code };
}

const wrongFor = (code: string, i = 0) => String((Number(code) + 1 + i) % 1e8).padStart(8, '0');

describe('Abuse resistance', function () {
  this.timeout(180_000);
  const clock = testClock();
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      now: clock.now,
      agent: { gates: { sms: { enabled: true }, phone: { dailyCap: 2 } } },
      // Fifty sessions at once from one test address.
      relay: { limits: { connectionsPerAddress: { perSecond: 500, burst: 500 }, framesPerAddress: { perSecond: 2000, burst: 2000 } } },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  describe('guessing codes', () => {
    it('blocks self-service after 5 wrong codes in an hour: the next try is refused even with the right code; the AD account is not locked; the block lifts after 24 h', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('brute'));
      const logFrom = stack.agentLogs.length;
      const { session, gate, code } = await startAndSend(stack, user.sam, user.mail!);
      for (let i = 0; i < 5; i++) {
        assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code: wrongFor(code, i) }), 'error').code, 'GATE_FAILED', `try ${i + 1}`);
      }
      const refused = expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code }), 'error');
      assert.equal(refused.code, 'TOO_MANY_ATTEMPTS');
      session.close();
      assert.equal(eventsIn(stack, logFrom, 31024, user.dn).length, 1, 'one SelfServiceBlocked event');

      // A new session is refused at once; so is an unlock.
      const again = await stack.openSession();
      assert.equal(expectOp(await again.request({ op: 'start', action: 'unlock', user: user.sam }), 'error').code, 'TOO_MANY_ATTEMPTS');
      again.close();
      // The directory account is untouched: not locked, the password still works.
      const ad = await stack.directory.readUser(user.sam);
      assert.equal(ad['lockoutTime']?.[0] ?? '0', '0');
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);

      clock.advance(23 * HOUR);
      const still = await stack.openSession();
      assert.equal(expectOp(await still.request({ op: 'start', action: 'reset', user: user.sam }), 'error').code, 'TOO_MANY_ATTEMPTS');
      still.close();

      clock.advance(HOUR + MINUTE);
      const later = await stack.openSession();
      await passEmailGate(later, stack.mail, 'reset', user.sam, user.mail!);
      expectOp(await later.request({ op: 'reset', newPassword: await later.sealPassword('newPassword', 'After-The-Block-2026') }), 'done');
      later.close();
      assert.equal((await stack.directory.kinit(user.upn, 'After-The-Block-2026')).ok, true);
    });

    it('counts every one of 50 parallel wrong guesses: exactly 5 are checked, 45 refused, and the person is blocked', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('par'));
      const logFrom = stack.agentLogs.length;
      const { session: first, gate, code } = await startAndSend(stack, user.sam, user.mail!);
      first.close();
      const sessions = await Promise.all(Array.from({ length: 50 }, () => stack.openSession()));
      const gates = await Promise.all(sessions.map(async (s) => expectOp(await s.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge').gates[0]!));
      const answers = await Promise.all(sessions.map((s, i) => s.request({ op: 'gate.verify', gate: gates[i]!.id, code: wrongFor(code, i) })));
      sessions.forEach((s) => s.close());
      assert.deepEqual(codes(answers), { GATE_FAILED: 5, TOO_MANY_ATTEMPTS: 45 });
      assert.equal(eventsIn(stack, logFrom, 31023, user.dn).length, 50, 'every guess is a GateFailed event');
      // Even the right code is refused now.
      const late = await stack.openSession();
      assert.equal(expectOp(await late.request({ op: 'start', action: 'reset', user: user.sam }), 'error').code, 'TOO_MANY_ATTEMPTS');
      late.close();
      void gate;
    });
  });

  describe('codes', () => {
    it('a resend voids the previous code, and a code dies after 10 minutes', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('resend'));
      const { session, gate, code: first } = await startAndSend(stack, user.sam, user.mail!);
      assert.equal(expectOp(await session.request({ op: 'gate.send', gate: gate.id }), 'error').code, 'RATE_LIMITED', 'too soon for a resend');
      clock.advance(31_000);
      const since = stack.mail.messages.length;
      expectOp(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
      const second = await stack.mail.codeFor(user.mail!, { since });
      if (second !== first) {
        assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code: first }), 'error').code, 'GATE_FAILED');
      }
      clock.advance(10 * MINUTE + 1000);
      assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code: second }), 'error').code, 'GATE_EXPIRED');
      session.close();
    });
  });

  describe('replay, reorder and downgrade', () => {
    it('a used code does not open another session, and passing a check twice is refused', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('replay'));
      const { session, gate, code } = await startAndSend(stack, user.sam, user.mail!);
      expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code }), 'gate.passed');
      assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code }), 'error').code, 'BAD_REQUEST');
      session.close();
      const other = await stack.openSession();
      const challenge = expectOp(await other.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      assert.equal(expectOp(await other.request({ op: 'gate.verify', gate: challenge.gates[0]!.id, code }), 'error').code, 'GATE_EXPIRED');
      const answer = await other.request({ op: 'reset', newPassword: await other.sealPassword('newPassword', 'Replayed-Code-2026') });
      other.close();
      assert.equal(expectOp(answer, 'error').code, 'GATES_REQUIRED');
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true, 'the directory was not touched');
    });

    it('skipping the gate, or acting before start, never reaches the directory', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('skip'));
      const early = await stack.openSession();
      assert.equal(expectOp(await early.request({ op: 'reset', newPassword: await early.sealPassword('newPassword', 'No-Start-2026!') }), 'error').code, 'BAD_REQUEST');
      early.close();
      const session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      expectOp(await session.request({ op: 'gate.send', gate: challenge.gates[0]!.id }), 'gate.sent');
      assert.equal(expectOp(await session.request({ op: 'unlock' }), 'error').code, 'BAD_REQUEST');
      assert.equal(expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Skipped-Gate-2026') }), 'error').code, 'GATES_REQUIRED');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
    });

    it('claiming another user id after the gates resets nobody else', async () => {
      const alice = await stack.directory.createUser(stack.directory.uniqueName('own'));
      const victim = await stack.directory.createUser(stack.directory.uniqueName('victim'));
      const session = await stack.openSession();
      await passEmailGate(session, stack.mail, 'reset', alice.sam, alice.mail!);
      assert.equal(expectOp(await session.request({ op: 'start', action: 'reset', user: victim.sam }), 'error').code, 'BAD_REQUEST');
      const reg = await registerStart(session, victim.sam, victim.password);
      assert.equal(expectOp(reg, 'error').code, 'BAD_REQUEST');
      expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Only-My-Own-2026') }), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(victim.upn, victim.password)).ok, true, 'the other account is untouched');
      assert.equal((await stack.directory.kinit(victim.upn, 'Only-My-Own-2026')).ok, false);
      assert.equal((await stack.directory.kinit(alice.upn, 'Only-My-Own-2026')).ok, true);
    });

    it('a session started for unlock or change cannot reset', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('down'));
      const unlock = await stack.openSession();
      await passEmailGate(unlock, stack.mail, 'unlock', user.sam, user.mail!);
      assert.equal(expectOp(await unlock.request({ op: 'reset', newPassword: await unlock.sealPassword('newPassword', 'Downgrade-2026!') }), 'error').code, 'BAD_REQUEST');
      unlock.close();
      const change = await stack.openSession();
      expectOp(await change.request({ op: 'start', action: 'change', user: user.sam }), 'challenge');
      assert.equal(expectOp(await change.request({ op: 'reset', newPassword: await change.sealPassword('newPassword', 'Downgrade-2026!') }), 'error').code, 'BAD_REQUEST');
      change.close();
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
    });
  });

  describe('SMS pumping', () => {
    it('refuses to register numbers in countries not on the allow-list, and sends nothing there', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('pump'));
      const session = await stack.openSession();
      expectOp(await registerStart(session, user.sam, user.password), 'registration');
      const since = stack.sms.texts.length;
      for (const phone of ['+1 876 555 1234', '+882 1234 5678', '+49 12']) {
        assert.equal(expectOp(await session.request({ op: 'register.add', method: 'sms', phone }), 'error').code, 'CONTACT_REFUSED', phone);
      }
      session.close();
      assert.equal(stack.sms.texts.length, since);
    });

    it('stops at the per-tenant daily cap, and starts again the next day', async () => {
      const users = await Promise.all([1, 2, 3].map((i) => stack.directory.createUser(stack.directory.uniqueName(`cap${i}`), { mobile: `+1202555013${i}` })));
      const logFrom = stack.agentLogs.length;
      const send = async (id: string) => {
        const session = await stack.openSession();
        const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: id }), 'challenge');
        const sms = challenge.gates.find((g) => g.method === 'sms');
        const answer = sms ? await session.request({ op: 'gate.send', gate: sms.id }) : undefined;
        session.close();
        return answer;
      };
      // Today's count may already hold sends of other tests; use the rest of the cap up.
      let sent = 0;
      for (const u of users) if ((await send(u.sam))?.op === 'gate.sent') sent++;
      assert.ok(sent <= 2, `sent ${sent} with a cap of 2`);
      assert.equal(expectOp((await send(users[2]!.sam))!, 'error').code, 'SEND_UNAVAILABLE');
      assert.ok(eventsIn(stack, logFrom, 31025).length >= 1, 'GateSendRefused event');
      clock.advance(24 * HOUR);
      expectOp((await send(users[0]!.sam))!, 'gate.sent');
    });
  });
});

describe('Races', function () {
  this.timeout(180_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      // A high limit, so every one of the 50 tries is really checked.
      agent: { gates: { maxFailuresPerHour: 1000, totp: { enabled: true } } },
      relay: { limits: { connectionsPerAddress: { perSecond: 500, burst: 500 }, framesPerAddress: { perSecond: 2000, burst: 2000 } } },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  async function fifty(user: string): Promise<{ sessions: ClientSession[]; gateIds: (method: string) => string[] }> {
    const sessions = await Promise.all(Array.from({ length: 50 }, () => stack.openSession()));
    const challenges = await Promise.all(sessions.map(async (s) => expectOp(await s.request({ op: 'start', action: 'reset', user }), 'challenge')));
    return { sessions, gateIds: (method) => challenges.map((c) => c.gates.find((g) => g.method === method)!.id) };
  }

  it('50 parallel submissions of one valid code: exactly one succeeds', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('race'));
    const { session: sender, code } = await startAndSend(stack, user.sam, user.mail!);
    sender.close();
    const { sessions, gateIds } = await fifty(user.sam);
    const ids = gateIds('email');
    const answers = await Promise.all(sessions.map((s, i) => s.request({ op: 'gate.verify', gate: ids[i]!, code })));
    assert.deepEqual(codes(answers), { 'gate.passed': 1, GATE_EXPIRED: 49 });
    const winner = sessions[answers.findIndex((a) => a.op === 'gate.passed')]!;
    expectOp(await winner.request({ op: 'reset', newPassword: await winner.sealPassword('newPassword', 'Won-The-Race-2026') }), 'done');
    sessions.forEach((s) => s.close());
    assert.equal((await stack.directory.kinit(user.upn, 'Won-The-Race-2026')).ok, true);
  });

  it('50 parallel submissions of one authenticator code: exactly one succeeds', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('race-t'));
    const reg = await stack.openSession();
    expectOp(await registerStart(reg, user.sam, user.password), 'registration');
    const { uri } = await registerTotp(reg);
    reg.close();
    const { sessions, gateIds } = await fifty(user.sam);
    const ids = gateIds('totp');
    const code = totpCode(uri, Date.now() + 30_000);
    const answers = await Promise.all(sessions.map((s, i) => s.request({ op: 'gate.verify', gate: ids[i]!, code })));
    sessions.forEach((s) => s.close());
    assert.deepEqual(codes(answers), { 'gate.passed': 1, GATE_FAILED: 49 });
  });
});
