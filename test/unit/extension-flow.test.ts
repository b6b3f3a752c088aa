/**
 * The reset page's flow (extension/lib/reset-flow.ts) against a scripted agent: which step a
 * person sees after each answer, and which errors keep them on the step or end the session.
 * The real thing, against a real relay, agent and directory, is in test/browser/.
 */
import assert from 'node:assert/strict';
import { UnlatchError } from '../../protocol/errors.ts';
import type { AgentMessage, ClientMessage, GateView, PasswordPolicyView } from '../../protocol/messages.ts';
import { openGates, ResetFlow, type SessionLike } from '../../extension/lib/reset-flow.ts';

const POLICY: PasswordPolicyView = { minLength: 8, complexity: true, historyLength: 24, minAgeSeconds: 0, maxAgeSeconds: 0 };
const GATE: GateView = { id: 'g1', method: 'email', hint: 'a•••@corp.example' };

/** A session that answers each op from a script and records what it was sent. */
function scripted(answers: Partial<Record<ClientMessage['op'], AgentMessage | Error | ((m: ClientMessage) => AgentMessage)>>) {
  const sent: ClientMessage[] = [];
  let closed = false;
  const session: SessionLike = {
    async request(m) {
      sent.push(m);
      const a = answers[m.op];
      if (a instanceof Error) throw a;
      if (typeof a === 'function') return a(m);
      if (!a) throw new Error(`no answer scripted for ${m.op}`);
      return a;
    },
    async sealPassword(field, pw) {
      return `sealed:${field}:${pw.length}`;
    },
    close() {
      closed = true;
    },
  };
  return { session, sent, isClosed: () => closed };
}

const challenge = (action: 'reset' | 'unlock' | 'change', gates = [GATE], required = 1): AgentMessage => ({
  op: 'challenge',
  action,
  gates,
  required,
  passed: [],
  policy: POLICY,
});

describe('ResetFlow', () => {
  it('runs reset: proof of work → gate → new password → done', async () => {
    const s = scripted({
      start: challenge('reset'),
      'gate.send': { op: 'gate.sent', gate: 'g1', resendAfter: 30 },
      'gate.verify': { op: 'gate.passed', gate: 'g1', remaining: 0 },
      reset: { op: 'done', action: 'reset' },
    });
    const progress: number[] = [];
    const flow = new ResetFlow({
      open: async (onProgress) => {
        onProgress(0.5);
        progress.push(0.5);
        return s.session;
      },
      now: () => 1000,
    });
    const kinds: string[] = [];
    flow.subscribe((st) => kinds.push(st.step.kind));
    await flow.begin(' alice ', 'reset');
    assert.equal(flow.state.step.kind, 'gates');
    assert.ok(kinds.includes('connecting'));
    await flow.send('g1');
    const step = flow.state.step;
    assert.ok(step.kind === 'gates' && step.sent['g1'] === 31_000);
    await flow.verify('g1', ' 1234 5678 ');
    assert.equal(flow.state.step.kind, 'password');
    await flow.submitPassword('Correct-Horse-7');
    assert.deepEqual(flow.state.step, { kind: 'done', action: 'reset' });
    assert.deepEqual(
      s.sent.map((m) => m.op),
      ['start', 'gate.send', 'gate.verify', 'reset'],
    );
    assert.deepEqual(s.sent[0], { op: 'start', action: 'reset', user: 'alice' });
    assert.deepEqual(s.sent[2], { op: 'gate.verify', gate: 'g1', code: '12345678' });
    assert.ok(s.isClosed(), 'the session is closed when done');
  });

  it('sends the person\'s language with start, so the agent words the code mail in it', async () => {
    const s = scripted({ start: challenge('reset') });
    const flow = new ResetFlow({ open: async () => s.session, locale: 'de-CH' });
    await flow.begin('alice', 'reset');
    assert.deepEqual(s.sent[0], { op: 'start', action: 'reset', user: 'alice', locale: 'de-CH' });
    const bad = scripted({ start: challenge('reset') });
    await new ResetFlow({ open: async () => bad.session, locale: 'not a locale!' }).begin('alice', 'reset');
    assert.deepEqual(bad.sent[0], { op: 'start', action: 'reset', user: 'alice' });
  });

  it('answers security questions and then offers only the gates the agent offers for the second check', async () => {
    const gates: GateView[] = [
      { id: 'q', method: 'questions', hint: '2 questions' },
      { id: 'm', method: 'email', hint: 'a•••@corp.example' },
      { id: 's', method: 'sms', hint: '•••••89' },
    ];
    const s = scripted({
      start: challenge('reset', gates, 2),
      'gate.send': { op: 'gate.sent', gate: 'q', resendAfter: 0, questions: [{ id: 'q1', text: 'First pet?' }, { id: 'q2', text: 'Street?' }] },
      'gate.answer': { op: 'gate.passed', gate: 'q', remaining: 1, offered: ['s'] },
    });
    const flow = new ResetFlow({ open: async () => s.session });
    await flow.begin('alice', 'reset');
    await flow.send('q');
    let step = flow.state.step;
    assert.ok(step.kind === 'gates');
    assert.deepEqual(step.questions['q']?.map((q) => q.text), ['First pet?', 'Street?']);
    await flow.answer('q', [' Rex ', 'Main St']);
    assert.deepEqual(s.sent.at(-1), { op: 'gate.answer', gate: 'q', answers: ['Rex', 'Main St'] });
    step = flow.state.step;
    assert.ok(step.kind === 'gates');
    assert.deepEqual(openGates(step).map((g) => g.id), ['s']);
    assert.equal(step.selected, 's');
  });

  it('unlocks as soon as the last gate is passed', async () => {
    const s = scripted({
      start: challenge('unlock'),
      'gate.verify': { op: 'gate.passed', gate: 'g1', remaining: 0 },
      unlock: { op: 'done', action: 'unlock' },
    });
    const flow = new ResetFlow({ open: async () => s.session });
    await flow.begin('alice', 'unlock');
    await flow.verify('g1', '12345678');
    assert.deepEqual(flow.state.step, { kind: 'done', action: 'unlock' });
  });

  it('goes straight to the password step for a change, and sends both passwords sealed', async () => {
    const s = scripted({ start: challenge('change', [], 0), change: { op: 'done', action: 'change' } });
    const flow = new ResetFlow({ open: async () => s.session });
    await flow.begin('alice', 'change');
    assert.equal(flow.state.step.kind, 'password');
    await flow.submitPassword('Correct-Horse-7', 'Old-Pass-1');
    assert.deepEqual(s.sent[1], { op: 'change', oldPassword: 'sealed:oldPassword:10', newPassword: 'sealed:newPassword:15' });
  });

  it('refuses a password that breaks a known rule before sending anything', async () => {
    const s = scripted({ start: challenge('change', [], 0) });
    const flow = new ResetFlow({ open: async () => s.session });
    await flow.begin('alice', 'change');
    await flow.submitPassword('short', 'old');
    assert.equal(flow.state.notice?.code, 'POLICY_VIOLATION');
    assert.equal(flow.state.notice?.reason, 'too_short');
    await flow.submitPassword('alice-Pass-77', 'old');
    assert.equal(flow.state.notice?.reason, 'complexity');
    assert.deepEqual(s.sent.map((m) => m.op), ['start']);
  });

  it('shows the directory\'s refusal on the same step, with its reason, and lets the person retry', async () => {
    let tries = 0;
    const s = scripted({
      start: challenge('change', [], 0),
      change: () =>
        ++tries === 1
          ? { op: 'error', code: 'POLICY_VIOLATION', reason: 'history', message: 'used before' }
          : { op: 'done', action: 'change' },
    });
    const flow = new ResetFlow({ open: async () => s.session });
    await flow.begin('alice', 'change');
    await flow.submitPassword('Correct-Horse-7', 'old');
    assert.equal(flow.state.step.kind, 'password');
    assert.equal(flow.state.notice?.reasonKey, 'reason_history');
    await flow.submitPassword('Correct-Horse-8', 'old');
    assert.equal(flow.state.step.kind, 'done');
  });

  it('keeps a wrong code on the gate step', async () => {
    const s = scripted({ start: challenge('reset'), 'gate.verify': { op: 'error', code: 'GATE_FAILED', message: 'no' } });
    const flow = new ResetFlow({ open: async () => s.session });
    await flow.begin('alice', 'reset');
    await flow.verify('g1', '000');
    assert.equal(flow.state.step.kind, 'gates');
    assert.equal(flow.state.notice?.code, 'GATE_FAILED');
  });

  it('ends on the failure screen for errors nobody can fix on the step', async () => {
    for (const code of ['TOO_MANY_ATTEMPTS', 'USER_PROTECTED', 'ACCESS_DENIED'] as const) {
      const s = scripted({ start: challenge('reset'), 'gate.verify': { op: 'error', code, message: 'x' } });
      const flow = new ResetFlow({ open: async () => s.session });
      await flow.begin('alice', 'reset');
      await flow.verify('g1', '123');
      const step = flow.state.step;
      assert.ok(step.kind === 'failed' && step.error.code === code, code);
      assert.ok(s.isClosed());
    }
  });

  it('says at once when the agent is offline or the pin does not match, before any gate', async () => {
    for (const code of ['AGENT_OFFLINE', 'KEY_PIN_MISMATCH'] as const) {
      const flow = new ResetFlow({
        open: async () => {
          throw new UnlatchError(code);
        },
      });
      await flow.begin('alice', 'reset');
      const step = flow.state.step;
      assert.ok(step.kind === 'failed' && step.error.code === code);
    }
  });

  it('starts on the failure screen when told to (no pin), and restarts to the first step', () => {
    const flow = new ResetFlow({ open: async () => assert.fail('must not connect'), initialError: { code: 'KEY_PIN_MISSING' } });
    const step = flow.state.step;
    assert.ok(step.kind === 'failed' && step.error.audience === 'admin');
    flow.restart();
    assert.equal(flow.state.step.kind, 'identify');
  });

  it('does nothing for an empty user id', async () => {
    const flow = new ResetFlow({ open: async () => assert.fail('must not connect') });
    await flow.begin('   ', 'reset');
    assert.equal(flow.state.step.kind, 'identify');
  });
});
