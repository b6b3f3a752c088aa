/**
 * The writeback core end to end: client → relay (TLS) → agent → Samba AD over LDAPS, with
 * outcomes checked by kinit, the authoritative client.
 */
import assert from 'node:assert/strict';
import { UnlatchError } from '../../protocol/errors.ts';
import { changePassword, expectOp, passEmailGate, resetPassword, shapeOf } from '../support/flows.ts';
import { startStack, type Stack } from '../support/stack.ts';

describe('Writeback (client → relay → agent → AD)', function () {
  this.timeout(120_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  describe('reset', () => {
    it('resets a locked user: new password works, old fails, account unlocked', async () => {
      const user = await stack.directory.createUser('rlocked', { state: 'locked' });
      assert.equal(await stack.directory.bindError(user.sam, user.password), '775');
      const session = await stack.openSession();
      const answer = await resetPassword(session, stack.mail, user.sam, user.mail as string, 'Fresh-Start-2026!');
      session.close();
      assert.deepEqual(answer, { op: 'done', action: 'reset' });
      assert.equal((await stack.directory.kinit(user.upn, 'Fresh-Start-2026!')).ok, true);
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, false);
      const after = await stack.directory.readUser(user.sam);
      assert.equal(after['lockoutTime']?.[0] ?? '0', '0');
    });

    it('clears "must change" on a must-change user', async () => {
      const user = await stack.directory.createUser('rmust', { state: 'must_change' });
      const session = await stack.openSession();
      const answer = await resetPassword(session, stack.mail, user.upn, user.mail as string, 'Brand-New-Pass-77');
      session.close();
      expectOp(answer, 'done');
      const kinit = await stack.directory.kinit(user.upn, 'Brand-New-Pass-77');
      assert.equal(kinit.ok, true, kinit.error);
      assert.notEqual((await stack.directory.readUser(user.sam))['pwdLastSet']?.[0], '0');
    });

    it('finds the user by e-mail address too', async () => {
      const user = await stack.directory.createUser('rbymail', { state: 'normal' });
      const session = await stack.openSession();
      const answer = await resetPassword(session, stack.mail, user.mail as string, user.mail as string, 'By-Mail-Reset-42');
      session.close();
      expectOp(answer, 'done');
      assert.equal((await stack.directory.kinit(user.upn, 'By-Mail-Reset-42')).ok, true);
    });

    it('refuses a reset before the gate is passed, and writes nothing', async () => {
      const user = await stack.directory.createUser('rnogate', { state: 'normal' });
      const session = await stack.openSession();
      expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      const answer = await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Sneaky-Pass-99') });
      session.close();
      assert.equal(expectOp(answer, 'error').code, 'GATES_REQUIRED');
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
    });

    it('refuses a wrong code, then accepts the right one', async () => {
      const user = await stack.directory.createUser('rwrong', { state: 'normal' });
      const session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      const gate = challenge.gates[0]!;
      assert.match(gate.hint, /^r•••@/);
      const since = stack.mail.messages.length;
      expectOp(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
      const code = await stack.mail.codeFor(user.mail as string, { since });
      assert.match(code, /^\d{8}$/);
      const wrong = code === '00000000' ? '11111111' : '00000000';
      assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code: wrong }), 'error').code, 'GATE_FAILED');
      expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code }), 'gate.passed');
      session.close();
    });
  });

  describe('change', () => {
    it('changes with the old password (kinit agrees)', async () => {
      const user = await stack.directory.createUser('cok', { state: 'normal' });
      const session = await stack.openSession();
      expectOp(await changePassword(session, user.sam, user.password, 'Changed-Pass-2026'), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, 'Changed-Pass-2026')).ok, true);
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, false);
    });

    it('refuses a password from history as POLICY_VIOLATION (history); the directory is unchanged', async () => {
      const user = await stack.directory.createUser('chist', { state: 'normal' });
      let session = await stack.openSession();
      expectOp(await changePassword(session, user.sam, user.password, 'Second-Pass-2026'), 'done');
      session.close();
      session = await stack.openSession();
      const answer = expectOp(await changePassword(session, user.sam, 'Second-Pass-2026', user.password), 'error');
      session.close();
      assert.equal(answer.code, 'POLICY_VIOLATION');
      assert.equal(answer.reason, 'history');
      assert.equal((await stack.directory.kinit(user.upn, 'Second-Pass-2026')).ok, true);
    });

    it('refuses a short password as POLICY_VIOLATION (too_short); the directory is unchanged', async () => {
      const user = await stack.directory.createUser('cshort', { state: 'normal' });
      const session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'change', user: user.sam }), 'challenge');
      assert.equal(challenge.policy.minLength, 8);
      assert.equal(challenge.policy.complexity, true);
      const answer = await session.request({
        op: 'change',
        oldPassword: await session.sealPassword('oldPassword', user.password),
        newPassword: await session.sealPassword('newPassword', 'Ab1!'),
      });
      session.close();
      const error = expectOp(answer, 'error');
      assert.equal(error.code, 'POLICY_VIOLATION');
      assert.equal(error.reason, 'too_short');
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
    });

    it('refuses a wrong old password as INVALID_CREDENTIALS', async () => {
      const user = await stack.directory.createUser('cbadold', { state: 'normal' });
      const session = await stack.openSession();
      const answer = expectOp(await changePassword(session, user.sam, 'Not-The-Password-1', 'Whatever-Pass-2026'), 'error');
      session.close();
      assert.equal(answer.code, 'INVALID_CREDENTIALS');
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
    });
  });

  describe('unlock and refusals', () => {
    it('unlocks without a reset: the old password works again', async () => {
      const user = await stack.directory.createUser('ulock', { state: 'locked' });
      const session = await stack.openSession();
      await passEmailGate(session, stack.mail, 'unlock', user.sam, user.mail as string);
      expectOp(await session.request({ op: 'unlock' }), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
    });

    it('refuses a protected account with USER_PROTECTED and writes nothing', async () => {
      const frank = stack.directory.users['frank']!;
      const session = await stack.openSession();
      const answer = expectOp(await resetPassword(session, stack.mail, frank.sam, frank.mail as string, 'Taking-Over-2026'), 'error');
      session.close();
      assert.equal(answer.code, 'USER_PROTECTED');
      assert.equal((await stack.directory.kinit(frank.upn, frank.password)).ok, true);
    });

    it('refuses a disabled account with ACCOUNT_DISABLED', async () => {
      const erin = stack.directory.users['erin']!;
      const session = await stack.openSession();
      const answer = expectOp(await resetPassword(session, stack.mail, erin.sam, erin.mail as string, 'Disabled-Pass-2026'), 'error');
      session.close();
      assert.equal(answer.code, 'ACCOUNT_DISABLED');
    });

    it('answers an unknown, an out-of-scope and a contact-less user exactly like a known one', async () => {
      const shapes: Record<string, unknown[]> = {};
      for (const [label, id] of [
        ['known', stack.directory.users['alice']!.sam],
        ['unknown', 'nobody-here'],
        ['out-of-scope', stack.directory.users['grace']!.sam],
        ['no-contact', stack.directory.users['heidi']!.sam],
      ] as const) {
        const session = await stack.openSession();
        const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: id }), 'challenge');
        const gate = challenge.gates[0]!;
        const sent = await session.request({ op: 'gate.send', gate: gate.id });
        const wrong = await session.request({ op: 'gate.verify', gate: gate.id, code: '12345678' });
        session.close();
        assert.match(gate.hint, /^[a-z]•••@[a-z.]+$/, `${label}: hint ${gate.hint}`);
        shapes[label] = [shapeOf(challenge), shapeOf(sent), wrong];
      }
      assert.deepEqual(shapes['unknown'], shapes['known']);
      assert.deepEqual(shapes['out-of-scope'], shapes['known']);
      assert.deepEqual(shapes['no-contact'], shapes['known']);
    });
  });

  describe('availability', () => {
    it('tells the client AGENT_OFFLINE in under a second when the agent is stopped', async () => {
      await stack.stopAgent();
      try {
        const started = performance.now();
        await assert.rejects(stack.openSession(), (err: unknown) => err instanceof UnlatchError && err.code === 'AGENT_OFFLINE');
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 1000, `took ${Math.round(elapsed)} ms`);
      } finally {
        await stack.startAgent();
      }
    });

    it('comes back within 10 s after a relay restart, and a reset succeeds', async () => {
      await stack.restartRelay();
      const started = performance.now();
      let session;
      while (!session) {
        try {
          session = await stack.openSession();
        } catch (err) {
          if (!(err instanceof UnlatchError) || err.code !== 'AGENT_OFFLINE') throw err;
          assert.ok(performance.now() - started < 10_000, 'agent not back within 10 s');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const user = await stack.directory.createUser('rrestart', { state: 'normal' });
      expectOp(await resetPassword(session, stack.mail, user.sam, user.mail as string, 'After-Restart-2026'), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, 'After-Restart-2026')).ok, true);
    });
  });
});
