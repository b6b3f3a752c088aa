/**
 * The registration page in Chromium against the real stack (Samba AD, relay, agent, SMTP, SMS
 * gateway): sign in with the current password, add an alternate e-mail, a phone and an
 * authenticator app (codes read where the person would read them), see them listed, remove
 * one, confirm; a wrong current password shows the directory's refusal. axe on every step.
 * And the nudge: after a successful sign-in at the demo site (named in `registrationNudge`),
 * a person with too little on file sees a banner that opens this page for them.
 */
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { demoSettings, startDemoSite, type DemoSite } from '../../scripts/demo-site/index.ts';
import type { SeedUser } from '../support/directory.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { extensionId, launchWithExtension, type ExtensionBrowser } from './support/browser.ts';
import { assertAccessible, signedInAs, signIn as signInAtSite } from './support/flow.ts';

describe('Registration page (Chromium, Samba AD, relay, agent, SMTP, SMS)', function () {
  this.timeout(120_000);
  let stack: Stack;
  let browser: ExtensionBrowser;
  let site: DemoSite;

  before(async function () {
    this.timeout(300_000);
    stack = await startStack({
      tls: false,
      extensionIds: [await extensionId()],
      agent: { gates: { sms: { enabled: true }, totp: { enabled: true }, questions: { enabled: true, hashCost: 12 } } },
    });
    site = await startDemoSite({
      ldapsUrl: stack.directory.ldapsUrl,
      caPem: stack.directory.caPem,
      baseDN: stack.directory.baseDN,
      upnSuffix: stack.directory.dnsDomain,
    });
    browser = await launchWithExtension({
      policy: {
        ...demoSettings({ relayUrl: stack.relayUrl, tenant: stack.tenant, pin: stack.pin, siteUrl: site.url, companyName: 'Acme' }),
        registrationNudge: { urlPattern: `${site.url.replace(/\/$/, '')}/*`, userField: '#username' },
      },
    });
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close();
    await site?.close();
    await stack?.stop();
  });

  const pages: Page[] = [];
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close().catch(() => undefined)));
  });

  async function registerPage(query = ''): Promise<Page> {
    const page = await browser.openExtensionPage(`register.html${query}`);
    pages.push(page);
    await page.locator('#current-password').waitFor();
    return page;
  }

  async function signIn(page: Page, u: SeedUser, password: string): Promise<void> {
    await page.fill('#user', u.sam);
    await page.fill('#current-password', password);
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  it('a wrong current password shows the directory refusal, counted like a failed sign-in', async () => {
    const u = await stack.directory.createUser(stack.directory.uniqueName('bwrong'));
    const page = await registerPage();
    await assertAccessible(page, 'sign in');
    await signIn(page, u, 'Not-My-Password-1');
    const error = page.locator('.error');
    await error.waitFor({ timeout: 20_000 });
    assert.equal(await error.getAttribute('data-code'), 'INVALID_CREDENTIALS');
    assert.match(await error.innerText(), /The current password is not correct/);
    assert.equal(await page.locator('#current-password').getAttribute('aria-invalid'), 'true');
    await assertAccessible(page, 'wrong current password');
    assert.equal((await stack.directory.readUser(u.sam))['badPwdCount']?.[0], '1', 'the directory counted a failed sign-in');
  });

  it('registers an alternate e-mail, a phone and an authenticator app, lists them, removes one and confirms', async () => {
    const u = await stack.directory.createUser(stack.directory.uniqueName('breg'), { mail: null });
    const page = await registerPage(`?user=${encodeURIComponent(u.sam)}`);
    assert.equal(await page.locator('#user').inputValue(), u.sam, 'the user id is prefilled');
    // Keyboard only for the sign-in: type, Tab, type, Enter.
    await page.locator('#current-password').focus();
    await page.keyboard.type(u.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your self-service methods' }).waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
    await assertAccessible(page, 'methods (empty)');
    assert.equal(await page.locator('[data-complete]').getAttribute('data-complete'), 'false');

    // Alternate e-mail, verified with the code from the mail.
    await page.getByRole('button', { name: 'Add an alternate e-mail address' }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'add-form-heading');
    await page.locator('#reg-email').fill('private.breg@example.net');
    await assertAccessible(page, 'add e-mail');
    let since = stack.mail.messages.length;
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.locator('#reg-code').waitFor();
    const mailCode = await stack.mail.codeFor('private.breg@example.net', { since, timeoutMs: 15_000 });
    await assertAccessible(page, 'e-mail code');
    // A wrong code first: shown inline, the form stays.
    await page.fill('#reg-code', '00000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#pending-error').waitFor();
    assert.equal(await page.locator('#pending-error').getAttribute('data-code'), 'GATE_FAILED');
    await page.fill('#reg-code', mailCode);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('li[data-method="email"][data-source="registered"]').waitFor();
    assert.match(await page.locator('li[data-method="email"]').innerText(), /p•••@example\.net/);

    // Phone (SMS), verified with the code the gateway received.
    await page.getByRole('button', { name: 'Add a phone number' }).click();
    await page.locator('#reg-phone').fill('+49 151 2345 6789');
    await assertAccessible(page, 'add phone');
    since = stack.sms.texts.length;
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.locator('#reg-code').waitFor();
    const smsCode = await stack.sms.codeFor('+4915123456789', { since });
    await page.fill('#reg-code', smsCode);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('li[data-method="sms"]').waitFor();

    // Authenticator app: the QR code (lazy chunk) and the secret's text form.
    await page.getByRole('button', { name: 'Add an authenticator app' }).click();
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/svg\+xml/);
    const secret = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await assertAccessible(page, 'authenticator app');
    const code = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
    await page.fill('#reg-code', code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('li[data-method="totp"]').waitFor();
    await assertAccessible(page, 'methods (three)');
    assert.equal(await page.locator('ul.methods li[data-source="registered"]').count(), 3);

    // Remove the phone again, then confirm.
    await page.locator('li[data-method="sms"]').getByRole('button', { name: /Remove/ }).click();
    await page.locator('li[data-method="sms"]').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Confirm my registration' }).click();
    await page.getByText('Thank you, your registration is confirmed.').waitFor();
    await assertAccessible(page, 'confirmed');

    // What the page showed is what the agent has: a fresh session lists the same methods.
    const session = await stack.openSession();
    const view = await session.request({ op: 'register.start', user: u.sam, currentPassword: await session.sealPassword('oldPassword', u.password) });
    session.close();
    assert.equal(view.op, 'registration');
    if (view.op === 'registration') assert.deepEqual(view.methods.filter((m) => m.source === 'registered').map((m) => m.method).sort(), ['email', 'totp']);
  });

  it('sets security questions', async () => {
    const u = await stack.directory.createUser(stack.directory.uniqueName('bques'));
    const page = await registerPage();
    await signIn(page, u, u.password);
    await page.getByRole('button', { name: 'Set security questions' }).click();
    const selects = page.locator('select');
    const n = await selects.count();
    assert.ok(n >= 1);
    for (let i = 0; i < n; i++) {
      const options = await selects.nth(i).locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      await selects.nth(i).selectOption(options[i] as string);
      await page.fill(`#reg-a-${i}`, `Answer number ${i} for the test`);
    }
    await assertAccessible(page, 'questions');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/Security questions: \d+ answered/).waitFor();
  });

  it('nudges after a successful sign-in when too little is on file, and the banner opens this page', async () => {
    const u = await stack.directory.createUser(stack.directory.uniqueName('bnudge'), { mail: null });
    // A refused sign-in first: the page still asks for a password, so no nudge.
    const refused = await signInAtSite(await browser.context.newPage(), site.url, u.sam, 'Not-My-Password-1');
    pages.push(refused);
    assert.equal(await signedInAs(refused), undefined);
    const page = await signInAtSite(await browser.context.newPage(), site.url, u.sam, u.password);
    pages.push(page);
    assert.equal(await signedInAs(page), u.upn);
    const card = page.locator('unlatch-banner[data-outcome="register"] .card');
    await card.waitFor({ timeout: 20_000 });
    assert.match(await card.innerText(), /Set up self-service password reset/);
    assert.equal(await refused.locator('unlatch-banner').count(), 0, 'no nudge where the sign-in was refused');
    const opened = browser.context.waitForEvent('page');
    await card.getByRole('button', { name: 'Set it up' }).click();
    const register = await opened;
    pages.push(register);
    await register.locator('#current-password').waitFor();
    assert.equal(await register.locator('#user').inputValue(), u.sam, 'the user name typed at sign-in is prefilled');
  });

  it('does not nudge someone whose registration is complete', async () => {
    const u = await stack.directory.createUser(stack.directory.uniqueName('bdone'));
    const session = await stack.openSession();
    const view = await session.request({ op: 'register.start', user: u.sam, currentPassword: await session.sealPassword('oldPassword', u.password) });
    session.close();
    assert.equal(view.op === 'registration' && view.complete, true, 'the directory e-mail already satisfies the policy');
    const page = await signInAtSite(await browser.context.newPage(), site.url, u.sam, u.password);
    pages.push(page);
    assert.equal(await signedInAs(page), u.upn);
    await page.waitForTimeout(3_000);
    assert.equal(await page.locator('unlatch-banner').count(), 0);
  });
});
