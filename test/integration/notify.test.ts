/**
 * Notices: after a reset, a change, an unlock and a registration change, the person gets an
 * e-mail at their addresses on file saying when, from which address (as the relay saw it), how
 * they proved who they are, and where to turn if it wasn't them — and never a secret.
 */
import assert from 'node:assert/strict';
import { changePassword, expectOp, passEmailGate, resetPassword } from '../support/flows.ts';
import { registerPhone, registerStart } from '../support/gates.ts';
import type { ReceivedMail } from '../support/mail.ts';
import { startStack, type Stack } from '../support/stack.ts';

const HELPDESK = 'https://help.corp.example/unlatch';

describe('Notifications', function () {
  this.timeout(120_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      agent: { gates: { sms: { enabled: true } }, notify: { helpdeskUrl: HELPDESK, helpdeskText: 'Call the IT help desk on +49 30 1234-0 or open', organisation: 'ACME' } },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  async function notice(address: string, subject: RegExp, since: number): Promise<ReceivedMail> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const hit = stack.mail.messages.slice(since).find((m) => m.to.includes(address.toLowerCase()) && subject.test(m.subject));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no notice ${subject} to ${address}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Time within the last minute, the relay's view of the client, the help desk — and none of the secrets. */
  function assertNotice(mail: ReceivedMail, how: RegExp, secrets: string[]): void {
    const now = new Date();
    const minute = now.toISOString().slice(0, 16).replace('T', ' ');
    const before = new Date(now.getTime() - 60_000).toISOString().slice(0, 16).replace('T', ' ');
    assert.ok(mail.text.includes(`When:  ${minute}`) || mail.text.includes(`When:  ${before}`), mail.text);
    assert.match(mail.text, /From: {2}127\.0\.0\.1 \(address seen by the ACME password service\)/);
    assert.match(mail.text, how);
    assert.ok(mail.text.includes(`Wasn't you? Call the IT help desk on +49 30 1234-0 or open: ${HELPDESK}`), mail.text);
    for (const secret of secrets) assert.ok(!mail.raw.includes(secret), `the notice holds a secret: ${secret}`);
    assert.ok(!/\b\d{8,12}\b/.test(mail.text), 'no code-like number');
  }

  it('after a reset: when, from where, which method, help-desk link; no password, no code', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('nreset'), { state: 'locked' });
    const since = stack.mail.messages.length;
    const session = await stack.openSession();
    expectOp(await resetPassword(session, stack.mail, user.sam, user.mail!, 'Noticed-Reset-2026'), 'done');
    session.close();
    const code = /\b(\d{8})\b/.exec(stack.mail.messages.slice(since).find((m) => /verification code/.test(m.subject))!.text)![1]!;
    const mail = await notice(user.mail!, /Your password was reset/, since);
    assert.match(mail.subject, /\(ACME\)$/);
    assertNotice(mail, /How: {3}e-mail code \(n•••@corp\.example\)/, ['Noticed-Reset-2026', code, user.password]);
  });

  it('after a change and after an unlock', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('nchg'));
    let since = stack.mail.messages.length;
    let session = await stack.openSession();
    expectOp(await changePassword(session, user.sam, user.password, 'Noticed-Change-2026'), 'done');
    session.close();
    assertNotice(await notice(user.mail!, /Your password was changed/, since), /How: {3}current password/, ['Noticed-Change-2026', user.password]);

    await stack.directory.lockOut(user.sam);
    since = stack.mail.messages.length;
    session = await stack.openSession();
    await passEmailGate(session, stack.mail, 'unlock', user.sam, user.mail!);
    expectOp(await session.request({ op: 'unlock' }), 'done');
    session.close();
    const code = /\b(\d{8})\b/.exec(stack.mail.messages.slice(since).find((m) => /verification code/.test(m.subject))!.text)![1]!;
    assertNotice(await notice(user.mail!, /Your account was unlocked/, since), /How: {3}e-mail code/, [code]);
  });

  it('after a registration change, to the addresses on file: masked, never the number or the code', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('nreg'));
    const since = stack.mail.messages.length;
    const smsSince = stack.sms.texts.length;
    const session = await stack.openSession();
    expectOp(await registerStart(session, user.sam, user.password), 'registration');
    await registerPhone(stack, session, '+1 202 555 0199', '+12025550199');
    session.close();
    const code = await stack.sms.codeFor('+12025550199', { since: smsSince });
    const mail = await notice(user.mail!, /registration changed/, since);
    assert.match(mail.text, /A phone number \(•••••99\) was added/);
    assertNotice(mail, /How: {3}current password/, [code, user.password, '+12025550199', '2025550199']);
  });
});
