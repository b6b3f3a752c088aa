/**
 * Registration through the real client: the person proves who they are with their current
 * password (checked by the directory, so a wrong one counts like any failed sign-in), then
 * registers a phone, an alternate address, an authenticator app and security questions. What
 * lands in the store is checked byte by byte: hashes of answers, sealed TOTP secrets and
 * contact data, nothing in the clear.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { expectOp } from '../support/flows.ts';
import { registerEmail, registerPhone, registerQuestions, registerStart, registerTotp, totpSecretOf, tryGate } from '../support/gates.ts';
import { startStack, type Stack } from '../support/stack.ts';

const DAY = 86_400_000;

/** Base32 (RFC 4648) to bytes. */
function base32(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
}

/** The database and its WAL, as bytes: whatever SQLite wrote anywhere. */
function storeBytes(stack: Stack): Buffer {
  const file = stack.agentConfig.store.file as string;
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => readFileSync(f)));
}

function assertAbsent(bytes: Buffer, what: string, secret: string | Buffer): void {
  const forms = typeof secret === 'string' ? [secret, secret.toLowerCase(), Buffer.from(secret, 'utf16le')] : [secret, secret.toString('hex'), secret.toString('base64')];
  for (const form of forms) assert.equal(bytes.indexOf(form), -1, `${what} is in the store in the clear`);
}

describe('Registration', function () {
  this.timeout(120_000);
  let stack: Stack;
  let clock = 0;

  before(async () => {
    stack = await startStack({
      now: () => Date.now() + clock,
      agent: { gates: { sms: { enabled: true }, totp: { enabled: true }, questions: { enabled: true, hashCost: 12 }, reconfirmDays: 30 } },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  it('with a wrong current password fails like a failed sign-in (AD counts it, event 31061), for unknown ids alike', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('rwrong'));
    const logFrom = stack.agentLogs.length;
    const session = await stack.openSession();
    const answer = expectOp(await registerStart(session, user.sam, 'Not-My-Password-1'), 'error');
    session.close();
    assert.equal(answer.code, 'INVALID_CREDENTIALS');
    assert.equal((await stack.directory.readUser(user.sam))['badPwdCount']?.[0], '1', 'the directory counted a failed sign-in');
    assert.ok(stack.agentLogs.slice(logFrom).some((l) => l.includes('"event":31061')));
    const unknown = await stack.openSession();
    const nobody = expectOp(await registerStart(unknown, 'nobody-registers-here', 'Whatever-Pass-1'), 'error');
    unknown.close();
    assert.deepEqual(nobody, answer);
  });

  it('with the right password registers phone, alternate e-mail, authenticator app and questions; the store holds only hashes and sealed values', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('rall'), { mail: null });
    const answers = { 'first-pet': 'Bello von Hügel', 'first-car': 'Renault Twingo', 'favourite-teacher': 'Frau Schmidt' };
    const session = await stack.openSession();
    const opened = expectOp(await registerStart(session, user.sam, user.password), 'registration');
    assert.equal(opened.complete, false);
    assert.deepEqual(opened.enabled, ['email', 'sms', 'totp', 'questions']);
    await registerPhone(stack, session, '+49 151 2345 6789', '+4915123456789');
    await registerEmail(stack, session, 'private.rall@example.net');
    const { uri } = await registerTotp(session, () => Date.now() + clock);
    const view = await registerQuestions(session, answers);
    session.close();
    assert.equal(view.complete, true);
    assert.equal(view.questionsRegistered, 3);
    assert.deepEqual(view.methods.map((m) => [m.method, m.source, m.hint]).sort(), [
      ['email', 'registered', 'p•••@example.net'],
      ['sms', 'registered', '•••••89'],
      ['totp', 'registered', 'authenticator app'],
    ]);

    const bytes = storeBytes(stack);
    const secret = totpSecretOf(uri);
    assertAbsent(bytes, 'the TOTP secret (Base32)', secret);
    assertAbsent(bytes, 'the TOTP secret', base32(secret));
    for (const phone of ['+4915123456789', '15123456789']) assertAbsent(bytes, 'the phone number', phone);
    assertAbsent(bytes, 'the alternate address', 'private.rall@example.net');
    for (const a of Object.values(answers)) {
      assertAbsent(bytes, 'an answer', a);
      assertAbsent(bytes, 'a normalised answer', a.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase());
    }
    const db = new Database(stack.agentConfig.store.file as string, { readonly: true });
    try {
      const rows = db.prepare('SELECT question, hash FROM answers').all() as Array<{ question: string; hash: Buffer }>;
      const mine = rows.filter((r) => Object.keys(answers).includes(r.question));
      assert.ok(mine.length >= 3);
      for (const r of mine) {
        assert.equal(r.hash.length, 2 + 16 + 32, 'version, cost, salt, scrypt hash');
        assert.equal(r.hash[1], 12, 'scrypt cost 2^12 as configured');
      }
      const totp = db.prepare("SELECT secret FROM methods WHERE method = 'totp'").all() as Array<{ secret: Buffer }>;
      for (const t of totp) assert.ok(t.secret.length > 20 + 16, 'sealed: version, nonce, ciphertext, tag');
    } finally {
      db.close();
    }

    // What was registered is what a reset offers.
    const reset = await stack.openSession();
    const challenge = expectOp(await reset.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
    assert.deepEqual(challenge.gates.map((g) => g.method), ['email', 'sms', 'totp', 'questions']);
    const sms = challenge.gates.find((g) => g.method === 'sms')!;
    expectOp(await tryGate(stack, reset, sms, '+4915123456789'), 'gate.passed');
    expectOp(await reset.request({ op: 'reset', newPassword: await reset.sealPassword('newPassword', 'Registered-Phone-2026') }), 'done');
    reset.close();
    assert.equal((await stack.directory.kinit(user.upn, 'Registered-Phone-2026')).ok, true);
  });

  it('refuses a wrong verification code (counted) and answers that break the rules', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('rrules'));
    const session = await stack.openSession();
    expectOp(await registerStart(session, user.sam, user.password), 'registration');
    const since = stack.sms.texts.length;
    const pending = expectOp(await session.request({ op: 'register.add', method: 'sms', phone: '+33 6 12 34 56 78' }), 'register.pending');
    const code = await stack.sms.codeFor('+33612345678', { since });
    const wrong = code === '00000000' ? '11111111' : '00000000';
    assert.equal(expectOp(await session.request({ op: 'register.verify', id: pending.id, code: wrong }), 'error').code, 'GATE_FAILED');
    expectOp(await session.request({ op: 'register.verify', id: pending.id, code }), 'registration');
    const bad = [
      { 'first-pet': 'Rex', 'first-car': 'Rex', 'first-school': 'Somewhere' },
      { 'first-pet': 'Rex', 'first-car': 'Fiat' },
      { 'first-pet': 'Rx', 'first-car': 'Fiat', 'first-school': 'School' },
    ];
    for (const answers of bad) {
      const refused = await session.request({ op: 'register.add', method: 'questions', answers: Object.entries(answers).map(([question, answer]) => ({ question, answer })) });
      assert.equal(expectOp(refused, 'error').code, 'REGISTRATION_INVALID', JSON.stringify(answers));
    }
    assert.equal(expectOp(await session.request({ op: 'register.add', method: 'sms', phone: '+33 6 12 34 56 78' }), 'error').code, 'REGISTRATION_INVALID', 'already on file');
    session.close();
  });

  it('register.status nudges who has not registered, never who the directory already covers, and asks for re-confirmation after reconfirmDays', async () => {
    const status = async (id: string) => {
      const session = await stack.openSession();
      const answer = expectOp(await session.request({ op: 'register.status', user: id }), 'register.status');
      session.close();
      return answer;
    };
    const bare = await stack.directory.createUser(stack.directory.uniqueName('rbare'), { mail: null });
    assert.deepEqual(await status(bare.sam), { op: 'register.status', nudge: true, reason: 'register' });
    const covered = await stack.directory.createUser(stack.directory.uniqueName('rdir'));
    assert.deepEqual(await status(covered.sam), { op: 'register.status', nudge: false });
    // Unknown ids get a fixed answer per id, so it tells nothing.
    assert.deepEqual(await status('nobody-status-1'), await status('nobody-status-1'));

    const session = await stack.openSession();
    expectOp(await registerStart(session, bare.sam, bare.password), 'registration');
    await registerPhone(stack, session, '+1 202 555 0166', '+12025550166');
    session.close();
    assert.deepEqual(await status(bare.sam), { op: 'register.status', nudge: false });
    clock += 31 * DAY;
    assert.deepEqual(await status(bare.sam), { op: 'register.status', nudge: true, reason: 'reconfirm' });
    const confirm = await stack.openSession();
    const view = expectOp(await registerStart(confirm, bare.sam, bare.password), 'registration');
    assert.equal(view.reconfirmDue, true);
    assert.equal(expectOp(await confirm.request({ op: 'register.confirm' }), 'registration').reconfirmDue, false);
    confirm.close();
    assert.deepEqual(await status(bare.sam), { op: 'register.status', nudge: false });
  });

  it('removes a registered method; directory data can only be changed by the help desk', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('rrm'));
    const session = await stack.openSession();
    expectOp(await registerStart(session, user.sam, user.password), 'registration');
    const view = await registerPhone(stack, session, '+1 202 555 0155', '+12025550155');
    const phone = view.methods.find((m) => m.method === 'sms')!;
    const fromDirectory = view.methods.find((m) => m.source === 'directory')!;
    assert.equal(fromDirectory.method, 'email');
    assert.equal(expectOp(await session.request({ op: 'register.remove', id: fromDirectory.id }), 'error').code, 'BAD_REQUEST');
    const after = expectOp(await session.request({ op: 'register.remove', id: phone.id }), 'registration');
    session.close();
    assert.ok(!after.methods.some((m) => m.method === 'sms'));
  });
});

describe('Registration throttle', function () {
  this.timeout(120_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ agent: { gates: { maxFailuresPerHour: 2 } } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('counts wrong current passwords: past the limit even the right one is refused, and never reaches the directory', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('rthr'));
    for (let i = 0; i < 2; i++) {
      const s = await stack.openSession();
      assert.equal(expectOp(await registerStart(s, user.sam, `Wrong-Password-${i}x`), 'error').code, 'INVALID_CREDENTIALS');
      s.close();
    }
    assert.equal((await stack.directory.readUser(user.sam))['badPwdCount']?.[0], '2');
    const s = await stack.openSession();
    assert.equal(expectOp(await registerStart(s, user.sam, user.password), 'error').code, 'TOO_MANY_ATTEMPTS');
    s.close();
    assert.equal((await stack.directory.readUser(user.sam))['badPwdCount']?.[0], '2', 'the directory was not asked');
    assert.equal((await stack.directory.readUser(user.sam))['lockoutTime']?.[0] ?? '0', '0');
  });
});
