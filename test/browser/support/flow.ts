/**
 * What a person does in the browser, as steps tests can combine: sign in at the demo site,
 * follow the banner, and walk the reset page with the mouse or the keyboard alone.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { MailCatcher } from '../../support/mail.ts';
import { seriousAxeViolations, type ExtensionBrowser } from './browser.ts';

/** Signs in at the demo site; resolves on the page that answered. */
export async function signIn(page: Page, siteUrl: string, user: string, password: string): Promise<Page> {
  await page.goto(siteUrl);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  return page;
}

/** Who the demo site says signed in, or undefined when it refused. */
export async function signedInAs(page: Page): Promise<string | undefined> {
  const ok = page.locator('#signed-in');
  return (await ok.count()) ? ((await ok.getAttribute('data-upn')) ?? undefined) : undefined;
}

/** Clicks the banner's button (by its text) and returns the reset page it opened. */
export async function followBanner(browser: ExtensionBrowser, page: Page, button: RegExp): Promise<Page> {
  const card = page.locator('unlatch-banner .card');
  await card.waitFor({ timeout: 10_000 });
  const opened = browser.context.waitForEvent('page');
  await card.getByRole('button', { name: button }).click();
  const reset = await opened;
  await reset.waitForLoadState();
  await reset.getByRole('button', { name: 'Continue' }).waitFor();
  return reset;
}

/** Fails with the list of serious or critical axe violations, if any. */
export async function assertAccessible(page: Page, step: string): Promise<void> {
  const violations = await seriousAxeViolations(page);
  assert.deepEqual(
    violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.html).join(' | ')}`),
    [],
    `axe on step "${step}"`,
  );
}

export interface ResetRun {
  action: 'reset' | 'unlock' | 'change';
  /** Where the email code goes (for reset and unlock). */
  mailTo?: string;
  newPassword?: string;
  oldPassword?: string;
  /** Run axe-core on every step. */
  axe?: boolean;
}

/** Step 1 to the end with the mouse: choose, continue, pass the email gate, set the password. */
export async function completeReset(reset: Page, mail: MailCatcher, run: ResetRun): Promise<void> {
  if (run.axe) await assertAccessible(reset, 'identify');
  await reset.check(`#action-${run.action}`);
  await reset.getByRole('button', { name: 'Continue' }).click();
  if (run.action !== 'change') {
    await reset.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    if (run.axe) await assertAccessible(reset, 'gates');
    const since = mail.messages.length;
    await reset.getByRole('button', { name: 'Send code' }).click();
    const code = await mail.codeFor(run.mailTo as string, { since, timeoutMs: 15_000 });
    await reset.fill('#code', code);
    if (run.axe) await assertAccessible(reset, 'code sent');
    await reset.getByRole('button', { name: 'Verify' }).click();
  }
  if (run.action === 'unlock') return waitDone(reset, run);
  await reset.locator('#new-password').waitFor();
  if (run.axe) await assertAccessible(reset, 'password');
  if (run.oldPassword !== undefined) await reset.fill('#old-password', run.oldPassword);
  await reset.fill('#new-password', run.newPassword as string);
  await reset.fill('#confirm-password', run.newPassword as string);
  await reset.getByRole('button', { name: run.action === 'change' ? 'Change password' : 'Set new password' }).click();
  return waitDone(reset, run);
}

async function waitDone(reset: Page, run: ResetRun): Promise<void> {
  const done = reset.locator('.success, .error');
  await done.first().waitFor({ timeout: 20_000 });
  const error = reset.locator('.error');
  if (await error.count()) assert.fail(`the reset page shows an error: ${await error.first().innerText()}`);
  assert.equal(await reset.locator('.success').getAttribute('data-action'), run.action);
  if (run.axe) await assertAccessible(reset, 'done');
}

/** A password the test domain accepts (complex, long, unique). */
export function newPassword(): string {
  return `Unl4tch-${Math.random().toString(36).slice(2, 10)}!`;
}
