/**
 * The verification methods end to end, through the real client: e-mail, SMS and voice codes
 * (SMTP server and HTTP gateway on loopback), authenticator apps (TOTP), security questions; the
 * 1- and 2-gate policies and the stricter policy for privileged groups. Outcomes are checked
 * with kinit, the authoritative client.
 */
import assert from 'node:assert/strict';
import { expectOp } from '../support/flows.ts';
import { registerQuestions, registerStart, registerTotp, totpCode, tryGate } from '../support/gates.ts';
import { sharedDirectory } from '../support/hooks.ts';
import { startStack, type Stack } from '../support/stack.ts';
import type { GateView } from '../../protocol/messages.ts';

const ANSWERS = { 'first-pet': 'Rex the Dog', 'first-school': 'Grundschule Müllerstraße', 'childhood-street': 'Elm Street' };

const byMethod = (gates: GateView[], method: string) => {
  const g = gates.find((x) => x.method === method);
  assert.ok(g, `no ${method} gate in ${JSON.stringify(gates)}`);
  return g;
};

describe('Verification methods (client → relay → agent)', function () {
  this.timeout(120_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      agent: {
        gates: {
          required: 1,
          sms: { enabled: true },
          voice: { enabled: true },
          totp: { enabled: true },
          questions: { enabled: true, hashCost: 12 },
          privileged: { groups: [(await sharedDirectory()).psoGroupDN] },
        },
      },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  describe('SMS and voice codes through the HTTP gateway', () => {
    it('sends an SMS to the mobile number on file (templated JSON, bearer secret); a wrong code fails, the right one passes and the reset works', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('sms'), { mobile: '+1 202-555-0123' });
      const session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      const sms = byMethod(challenge.gates, 'sms');
      assert.equal(sms.hint, '•••••23');
      const since = stack.sms.texts.length;
      expectOp(await session.request({ op: 'gate.send', gate: sms.id }), 'gate.sent');
      const text = await stack.sms.waitFor('+12025550123', { since });
      assert.equal(text.method, 'POST');
      assert.equal(text.headers['authorization'], 'Bearer sms-token-for-tests');
      assert.equal(text.headers['content-type'], 'application/json');
      assert.equal(text.body['channel'], 'sms');
      const code = await stack.sms.codeFor('+12025550123', { since });
      assert.match(code, /^\d{8}$/);
      const wrong = code === '00000000' ? '11111111' : '00000000';
      assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: sms.id, code: wrong }), 'error').code, 'GATE_FAILED');
      expectOp(await session.request({ op: 'gate.verify', gate: sms.id, code }), 'gate.passed');
      expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Texted-Reset-2026') }), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, 'Texted-Reset-2026')).ok, true);
    });

    it('calls the office number on file with the code read digit by digit', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('voice'), { mail: null, telephoneNumber: '+49 30 901820' });
      const session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'unlock', user: user.sam }), 'challenge');
      assert.deepEqual(challenge.gates.map((g) => g.method), ['voice'], 'an office number is for calls only (gates.sms.attributes: [mobile])');
      const voice = challenge.gates[0]!;
      const since = stack.sms.texts.length;
      expectOp(await session.request({ op: 'gate.send', gate: voice.id }), 'gate.sent');
      const call = await stack.sms.waitFor('+4930901820', { since });
      assert.equal(call.body['channel'], 'voice');
      assert.match(String(call.body['text']), /\d \d \d \d \d \d \d \d/);
      const code = await stack.sms.codeFor('+4930901820', { since });
      expectOp(await session.request({ op: 'gate.verify', gate: voice.id, code }), 'gate.passed');
      expectOp(await session.request({ op: 'unlock' }), 'done');
      session.close();
    });

    it('never offers a number whose country is not allowed, nor an invalid one', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('jm'), { mobile: '+1 876 555 1234' });
      const session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      session.close();
      assert.deepEqual(challenge.gates.map((g) => g.method), ['email']);
    });
  });

  describe('authenticator app (TOTP, RFC 6238)', () => {
    it('registers with the first code, then passes a reset with a current code; a wrong or reused code fails', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('totp'));
      let session = await stack.openSession();
      expectOp(await registerStart(session, user.sam, user.password), 'registration');
      const { uri, view } = await registerTotp(session);
      session.close();
      assert.match(uri, /^otpauth:\/\/totp\/acme:/);
      assert.ok(view.methods.some((m) => m.method === 'totp' && m.source === 'registered'));

      session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      const totp = byMethod(challenge.gates, 'totp');
      expectOp(await session.request({ op: 'gate.send', gate: totp.id }), 'gate.sent');
      const code = totpCode(uri);
      const wrong = String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
      assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: totp.id, code: wrong }), 'error').code, 'GATE_FAILED');
      // The code of the next 30-s step is accepted (clock skew, ±1 step) — the current one may be
      // the one the registration used, which is never accepted again.
      const next = totpCode(uri, Date.now() + 30_000);
      expectOp(await session.request({ op: 'gate.verify', gate: totp.id, code: next }), 'gate.passed');
      expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'App-Reset-2026!') }), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, 'App-Reset-2026!')).ok, true);

      // The same code again, or an older one: each step is accepted once, never going back.
      session = await stack.openSession();
      const again = expectOp(await session.request({ op: 'start', action: 'unlock', user: user.sam }), 'challenge');
      const t2 = byMethod(again.gates, 'totp');
      for (const c of [next, code]) {
        assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: t2.id, code: c }), 'error').code, 'GATE_FAILED');
      }
      session.close();
    });
  });

  describe('security questions', () => {
    it('asks the registered questions in the person\'s language; normalised answers pass, wrong ones fail; never enough alone', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('q'));
      let session = await stack.openSession();
      const opened = expectOp(await registerStart(session, user.sam, user.password, 'de'), 'registration');
      assert.equal(opened.questionsToRegister, 3);
      assert.ok(opened.questions.some((q) => q.id === 'first-pet' && q.text === 'Wie hieß Ihr erstes Haustier?'));
      const view = await registerQuestions(session, ANSWERS);
      session.close();
      assert.equal(view.questionsRegistered, 3);

      session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam, locale: 'de' }), 'challenge');
      const q = byMethod(challenge.gates, 'questions');
      const sent = expectOp(await session.request({ op: 'gate.send', gate: q.id }), 'gate.sent');
      assert.equal(sent.questions?.length, 2);
      for (const question of sent.questions ?? []) assert.match(question.text, /\b(Ihr|Ihre|Sie)\b/, 'asked in German');
      const wrong = await session.request({ op: 'gate.answer', gate: q.id, answers: sent.questions!.map(() => 'wrong answer') });
      assert.equal(expectOp(wrong, 'error').code, 'GATE_FAILED');
      // Case, accents, punctuation and spacing do not matter.
      const sloppy: Record<string, string> = { 'first-pet': '  rex THE dog!', 'first-school': 'GRUNDSCHULE mullerstrasse', 'childhood-street': 'elm-street' };
      const passed = expectOp(await session.request({ op: 'gate.answer', gate: q.id, answers: sent.questions!.map((x) => sloppy[x.id]!) }), 'gate.passed');
      assert.equal(passed.remaining, 1, 'questions alone are never enough');
      const early = await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Questions-Only-2026') });
      assert.equal(expectOp(early, 'error').code, 'GATES_REQUIRED');
      const email = byMethod(challenge.gates, 'email');
      assert.deepEqual(passed.offered, challenge.gates.filter((g) => g.method !== 'questions').map((g) => g.id));
      expectOp(await tryGate(stack, session, email, user.mail), 'gate.passed');
      expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Questions-Plus-Mail-2026') }), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, 'Questions-Plus-Mail-2026')).ok, true);
    });

    it('refuses to check answers with gate.verify, and codes with gate.answer', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('qop'));
      let session = await stack.openSession();
      expectOp(await registerStart(session, user.sam, user.password), 'registration');
      await registerQuestions(session, ANSWERS);
      session.close();
      session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      const q = byMethod(challenge.gates, 'questions');
      expectOp(await session.request({ op: 'gate.send', gate: q.id }), 'gate.sent');
      assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: q.id, code: 'Rex the Dog' }), 'error').code, 'BAD_REQUEST');
      const email = byMethod(challenge.gates, 'email');
      assert.equal(expectOp(await session.request({ op: 'gate.answer', gate: email.id, answers: ['x'] }), 'error').code, 'BAD_REQUEST');
      session.close();
    });
  });

  describe('privileged groups', () => {
    it('ask a member for 2 checks and never offer (or accept) security questions', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('adm'), { pso: true, mobile: '+12025550177' });
      let session = await stack.openSession();
      const view = expectOp(await registerStart(session, user.sam, user.password), 'registration');
      assert.equal(view.required, 2);
      assert.equal(view.questionsToRegister, 0);
      assert.ok(!view.enabled.includes('questions'));
      const refused = await session.request({ op: 'register.add', method: 'questions', answers: Object.entries(ANSWERS).map(([question, answer]) => ({ question, answer })) });
      assert.equal(expectOp(refused, 'error').code, 'NOT_ALLOWED');
      session.close();

      session = await stack.openSession();
      const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
      assert.equal(challenge.required, 2);
      assert.ok(!challenge.gates.some((g) => g.method === 'questions'));
      const first = expectOp(await tryGate(stack, session, byMethod(challenge.gates, 'email'), user.mail), 'gate.passed');
      assert.equal(first.remaining, 1);
      const early = await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Admin-One-Gate-2026') });
      assert.equal(expectOp(early, 'error').code, 'GATES_REQUIRED');
      expectOp(await tryGate(stack, session, byMethod(challenge.gates, 'sms'), '+12025550177'), 'gate.passed');
      expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Admin-Two-Gates-2026') }), 'done');
      session.close();
      assert.equal((await stack.directory.kinit(user.upn, 'Admin-Two-Gates-2026')).ok, true);
    });
  });
});

describe('Two-gate policy', function () {
  this.timeout(120_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack({ agent: { gates: { required: 2, sms: { enabled: true }, voice: { enabled: true } } } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('needs two different methods: SMS and a call to the same phone are one, and a kind once passed is no longer offered', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('two'), { mobile: '+12025550188' });
    const session = await stack.openSession();
    const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
    assert.equal(challenge.required, 2);
    assert.deepEqual(challenge.gates.map((g) => g.method), ['email', 'sms', 'voice']);
    const sms = expectOp(await tryGate(stack, session, byMethod(challenge.gates, 'sms'), '+12025550188'), 'gate.passed');
    assert.equal(sms.remaining, 1);
    assert.deepEqual(sms.offered, [byMethod(challenge.gates, 'email').id], 'voice to the same phone is no longer offered');
    const voice = byMethod(challenge.gates, 'voice');
    assert.equal(expectOp(await session.request({ op: 'gate.send', gate: voice.id }), 'error').code, 'BAD_REQUEST');
    const early = await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Only-One-Kind-2026') });
    assert.equal(expectOp(early, 'error').code, 'GATES_REQUIRED');
    const mail = expectOp(await tryGate(stack, session, byMethod(challenge.gates, 'email'), user.mail), 'gate.passed');
    assert.equal(mail.remaining, 0);
    expectOp(await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', 'Two-Kinds-2026!') }), 'done');
    session.close();
    assert.equal((await stack.directory.kinit(user.upn, 'Two-Kinds-2026!')).ok, true);
  });

  it('offers someone with only one kind of method decoys that can never pass', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('one'));
    const session = await stack.openSession();
    const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
    assert.equal(challenge.required, 2);
    assert.ok(challenge.gates.length >= 2);
    const email = byMethod(challenge.gates, 'email');
    const since = stack.mail.messages.length;
    expectOp(await session.request({ op: 'gate.send', gate: email.id }), 'gate.sent');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stack.mail.messages.length, since, 'a decoy sends nothing');
    session.close();
  });
});
