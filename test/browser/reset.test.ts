/**
 * The whole product from the sign-in page, as a person meets it: Chromium with the extension
 * loaded unpacked and configured through a real managed-policy file; the demo sign-in site
 * binding to a real Samba AD DC; the relay, the agent and an SMTP server on loopback.
 * Outcomes are checked where they count: the demo site signs the person in and `kinit` agrees.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startDemoSite, demoSettings, type DemoSite } from '../../scripts/demo-site/index.ts';
import type { SeedUser } from '../support/directory.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { extensionId, launchWithExtension, waitForRules, type ExtensionBrowser } from './support/browser.ts';
import { assertAccessible, completeReset, followBanner, newPassword, signedInAs, signIn } from './support/flow.ts';

describe('Self-service from the sign-in page (Chromium, Samba AD, relay, agent, SMTP)', function () {
  this.timeout(120_000);
  let stack: Stack;
  let site: DemoSite;
  let browser: ExtensionBrowser;

  before(async function () {
    this.timeout(300_000);
    stack = await startStack({ tls: false, extensionIds: [await extensionId()] });
    site = await startDemoSite({
      ldapsUrl: stack.directory.ldapsUrl,
      caPem: stack.directory.caPem,
      baseDN: stack.directory.baseDN,
      upnSuffix: stack.directory.dnsDomain,
    });
    browser = await launchWithExtension({
      policy: demoSettings({ relayUrl: stack.relayUrl, tenant: stack.tenant, pin: stack.pin, siteUrl: site.url, companyName: 'Acme' }),
    });
    await waitForRules(browser.worker);
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
  async function newPage(): Promise<Page> {
    const page = await browser.context.newPage();
    pages.push(page);
    return page;
  }

  /** Each new step moves focus to its heading (for screen readers); keys go on from there. */
  async function focusOnHeading(page: Page): Promise<void> {
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1', undefined, { timeout: 5_000 });
  }

  async function user(state: 'locked' | 'expired' | 'must_change' | 'normal'): Promise<SeedUser> {
    return stack.directory.createUser(stack.directory.uniqueName(`b-${state.slice(0, 4)}`), { state });
  }

  /** The sign-in page with the directory's refusal and the banner, for this user. */
  async function refusedSignIn(u: SeedUser, password = u.password): Promise<Page> {
    const page = await signIn(await newPage(), site.url, u.sam, password);
    assert.equal(await signedInAs(page), undefined, 'the demo site must refuse first');
    return page;
  }

  async function assertSignsIn(u: SeedUser, password: string): Promise<void> {
    const page = await signIn(await newPage(), site.url, u.sam, password);
    assert.equal(await signedInAs(page), u.upn, 'the demo site signs the person in');
    assert.deepEqual(await stack.directory.kinit(u.sam, password), { ok: true }, 'kinit agrees');
  }

  it('a locked user resets the password through the email gate, then signs in with it', async () => {
    const u = await user('locked');
    const signInPage = await refusedSignIn(u);
    assert.match(await signInPage.locator('#error').innerText(), /account is locked/);
    const reset = await followBanner(browser, signInPage, /Unlock it/);
    pages.push(reset);
    assert.equal(await reset.locator('#user').inputValue(), u.sam, 'the user name is prefilled');
    const pw = newPassword();
    await completeReset(reset, stack.mail, { action: 'reset', mailTo: u.mail as string, newPassword: pw, axe: true });
    // "Back to the sign-in page" closes the reset tab.
    await Promise.all([reset.waitForEvent('close'), reset.getByRole('button', { name: 'Back to the sign-in page' }).click()]);
    await assertSignsIn(u, pw);
  });

  it('an expired user resets the password and signs in with it', async () => {
    const u = await user('expired');
    const reset = await followBanner(browser, await refusedSignIn(u), /Change it now/);
    pages.push(reset);
    const pw = newPassword();
    await completeReset(reset, stack.mail, { action: 'reset', mailTo: u.mail as string, newPassword: pw });
    await assertSignsIn(u, pw);
  });

  it('a must-change user resets the password and signs in with it', async () => {
    const u = await user('must_change');
    const reset = await followBanner(browser, await refusedSignIn(u), /Change it now/);
    pages.push(reset);
    const pw = newPassword();
    await completeReset(reset, stack.mail, { action: 'reset', mailTo: u.mail as string, newPassword: pw });
    await assertSignsIn(u, pw);
  });

  it('an expired user changes the password with the current one, no gate needed', async () => {
    const u = await user('expired');
    const reset = await followBanner(browser, await refusedSignIn(u), /Change it now/);
    pages.push(reset);
    const pw = newPassword();
    await completeReset(reset, stack.mail, { action: 'change', oldPassword: u.password, newPassword: pw, axe: true });
    await assertSignsIn(u, pw);
  });

  it('a locked user unlocks the account only and signs in with the current password', async () => {
    const u = await user('locked');
    const reset = await followBanner(browser, await refusedSignIn(u), /Unlock it/);
    pages.push(reset);
    await completeReset(reset, stack.mail, { action: 'unlock', mailTo: u.mail as string });
    await assertSignsIn(u, u.password);
  });

  it('shows a known rule before submit, sends nothing, and leaves the directory unchanged', async () => {
    const u = await user('expired');
    const reset = await followBanner(browser, await refusedSignIn(u), /Change it now/);
    pages.push(reset);
    await reset.getByRole('button', { name: 'Continue' }).click();
    await reset.locator('#new-password').waitFor();
    await reset.fill('#old-password', u.password);
    await reset.fill('#new-password', 'Sh0rt!');
    assert.equal(await reset.locator('li[data-rule="length"]').getAttribute('class'), 'bad', 'the rule shows as not met while typing');
    await reset.fill('#confirm-password', 'Sh0rt!');
    await reset.getByRole('button', { name: 'Change password' }).click();
    const error = reset.locator('.error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'POLICY_VIOLATION');
    assert.equal(await error.getAttribute('data-reason'), 'too_short');
    assert.match(await error.innerText(), /The new password is too short/);
    await assertAccessible(reset, 'password with a refused password');
    assert.equal(await stack.directory.bindError(u.sam, u.password), '532', 'still expired with the old password');
  });

  it('shows the directory\'s own refusal after submit when the rule is unknown to the page', async () => {
    const u = await user('expired');
    const reset = await followBanner(browser, await refusedSignIn(u), /Change it now/);
    pages.push(reset);
    await reset.getByRole('button', { name: 'Continue' }).click();
    await reset.locator('#new-password').waitFor();
    // The current password again: long and complex enough, but in the password history.
    await reset.fill('#old-password', u.password);
    await reset.fill('#new-password', u.password);
    await reset.fill('#confirm-password', u.password);
    await reset.getByRole('button', { name: 'Change password' }).click();
    const error = reset.locator('.error');
    await error.waitFor({ timeout: 20_000 });
    assert.equal(await error.getAttribute('data-code'), 'POLICY_VIOLATION');
    assert.equal(await error.getAttribute('data-reason'), 'history');
    assert.match(await error.innerText(), /was used before/);
    assert.equal(await reset.locator('#new-password').count(), 1, 'the person stays on the step to try another');
    assert.equal(await stack.directory.bindError(u.sam, u.password), '532', 'the directory is unchanged');
  });

  it('the whole unlock works by keyboard alone', async () => {
    const u = await user('locked');
    const reset = await followBanner(browser, await refusedSignIn(u), /Unlock it/);
    pages.push(reset);
    const k = reset.keyboard;
    // Focus starts in the user-name field (prefilled); Tab reaches the choice, arrows pick.
    assert.equal(await reset.evaluate(() => document.activeElement?.id), 'user');
    await k.press('Tab');
    assert.equal(await reset.evaluate(() => document.activeElement?.id), 'action-reset');
    await k.press('ArrowDown');
    assert.equal(await reset.locator('#action-unlock').isChecked(), true);
    await k.press('Tab');
    await k.press('Enter');
    await reset.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await focusOnHeading(reset);
    const since = stack.mail.messages.length;
    await k.press('Tab');
    await k.press('Enter');
    const code = await stack.mail.codeFor(u.mail as string, { since, timeoutMs: 15_000 });
    await reset.locator('#code:focus').waitFor();
    await k.type(code);
    await k.press('Enter');
    await reset.locator('.success').waitFor({ timeout: 20_000 });
    await focusOnHeading(reset);
    await k.press('Tab');
    assert.match((await reset.evaluate(() => document.activeElement?.textContent)) ?? '', /Back to the sign-in page/);
    await assertSignsIn(u, u.password);
  });

  it('the whole reset works by keyboard alone', async () => {
    const u = await user('must_change');
    const reset = await followBanner(browser, await refusedSignIn(u), /Change it now/);
    pages.push(reset);
    const k = reset.keyboard;
    await k.press('Tab');
    // must_change offers reset and change; change is preselected, ArrowUp picks reset.
    await k.press('ArrowUp');
    assert.equal(await reset.locator('#action-reset').isChecked(), true);
    await k.press('Tab');
    await k.press('Enter');
    await reset.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await focusOnHeading(reset);
    const since = stack.mail.messages.length;
    await k.press('Tab');
    await k.press('Enter');
    const code = await stack.mail.codeFor(u.mail as string, { since, timeoutMs: 15_000 });
    await reset.locator('#code:focus').waitFor();
    await k.type(code);
    await k.press('Enter');
    await reset.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await focusOnHeading(reset);
    const pw = newPassword();
    await k.press('Tab');
    assert.equal(await reset.evaluate(() => document.activeElement?.id), 'new-password');
    await k.type(pw);
    await k.press('Tab');
    assert.equal(await reset.evaluate(() => document.activeElement?.id), 'confirm-password');
    await k.type(pw);
    await k.press('Enter');
    await reset.locator('.success').waitFor({ timeout: 20_000 });
    await assertSignsIn(u, pw);
  });

  describe('with the agent stopped', () => {
    before(async function () {
      this.timeout(30_000);
      await stack.stopAgent();
    });
    after(async function () {
      this.timeout(30_000);
      await stack.startAgent();
    });

    it('says so at once, before any gate is started', async () => {
      const u = await user('locked');
      const reset = await followBanner(browser, await refusedSignIn(u), /Unlock it/);
      pages.push(reset);
      const mails = stack.mail.messages.length;
      const started = Date.now();
      await reset.getByRole('button', { name: 'Continue' }).click();
      const error = reset.locator('.error');
      await error.waitFor({ timeout: 10_000 });
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.equal(await error.getAttribute('data-code'), 'AGENT_OFFLINE');
      assert.match(await error.innerText(), /not reachable right now/);
      assert.equal(await reset.getByRole('button', { name: 'Send code' }).count(), 0);
      assert.equal(stack.mail.messages.length, mails, 'no code was sent');
      await assertAccessible(reset, 'agent offline');
    });
  });

  describe('with a wrong signing-key pin in policy', () => {
    let wrong: ExtensionBrowser;
    before(async function () {
      this.timeout(60_000);
      await browser.close();
      const bad = `${stack.pin.slice(0, 10)}${stack.pin[10] === 'A' ? 'B' : 'A'}${stack.pin.slice(11)}`;
      wrong = await launchWithExtension({
        policy: demoSettings({ relayUrl: stack.relayUrl, tenant: stack.tenant, pin: bad, siteUrl: site.url }),
      });
    });
    after(async function () {
      this.timeout(60_000);
      await wrong?.close();
      browser = await launchWithExtension({
        policy: demoSettings({ relayUrl: stack.relayUrl, tenant: stack.tenant, pin: stack.pin, siteUrl: site.url, companyName: 'Acme' }),
      });
    });

    it('refuses to talk to the agent, with a message for the admin', async () => {
      const mails = stack.mail.messages.length;
      const reset = await wrong.openExtensionPage('reset.html?user=alice&outcome=locked');
      pages.push(reset);
      await reset.getByRole('button', { name: 'Continue' }).click();
      const error = reset.locator('.error');
      await error.waitFor({ timeout: 15_000 });
      assert.equal(await error.getAttribute('data-code'), 'KEY_PIN_MISMATCH');
      assert.match(await error.innerText(), /does not match the pinned key/);
      assert.match(await error.innerText(), /For your administrator: error code KEY_PIN_MISMATCH/);
      assert.equal(stack.mail.messages.length, mails);
      await assertAccessible(reset, 'pin mismatch');
      const options = await wrong.openExtensionPage('options.html');
      pages.push(options);
      await options.getByRole('button', { name: 'Test connection' }).click();
      await options.locator('#test-result .error[data-code="KEY_PIN_MISMATCH"]').waitFor({ timeout: 15_000 });
    });
  });

  it('the options page\'s connection test reaches the agent', async () => {
    const options = await browser.openExtensionPage('options.html');
    pages.push(options);
    await options.getByRole('button', { name: 'Test connection' }).click();
    await options.locator('#test-result [data-result="ok"]').waitFor({ timeout: 15_000 });
    await assertAccessible(options, 'options');
  });
});
