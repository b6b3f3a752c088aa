/**
 * The extension in a real Chromium, loaded unpacked and configured through a real managed-policy
 * file: policy reaches the pages, the content script offers help on the right pages only, and
 * the pages refuse to talk to anyone without a pin. (The flows against a real relay, agent and
 * directory are in reset.test.ts.)
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchWithExtension, seriousAxeViolations, waitForRules, type ExtensionBrowser } from './support/browser.ts';
import { servePages, signInPage, type PageServer } from './support/pages.ts';

const PIN = 'q1Vb3yJ6p3h0mX0b1pWm2ZsF6bq0f5uYq2mH1cVxN0s';

describe('Browser extension (Chromium)', function () {
  this.timeout(60_000);

  describe('with policy', () => {
    let browser: ExtensionBrowser;
    let site: PageServer;

    before(async () => {
      site = await servePages({
        '/locked': signInPage('Your account is locked. Contact your administrator.'),
        '/expired': signInPage('Your password has expired.', 'CORP\\bob'),
        '/wrong': signInPage('The user name or password is incorrect.'),
        '/elsewhere': signInPage('Your account is locked.'),
        '/adfs/ls/': signInPage('<span>Your password</span> <b>has expired</b>.').replace('id="username"', 'id="userNameInput"'),
        '/pw-field': signInPage('Your account is locked.'),
        '/script-only': signInPage('Sign-in failed.', 'alice', '<script>var strings = {"locked": "Your account is locked"};</script>'),
        '/spa': signInPage('', 'carol', `<script>setTimeout(() => { document.getElementById('error').textContent = 'Your account is locked.'; }, 800);</script>`),
      });
      const o = site.origin;
      browser = await launchWithExtension({
        policy: {
          relayUrl: 'ws://127.0.0.1:9',
          tenant: 'acme',
          signingKeyPin: PIN,
          companyName: 'Acme',
          helpdeskText: 'Call the Acme help desk on 555-0100.',
          detectionRules: [
            { urlPattern: `${o}/pw-field`, textPattern: 'account is locked', outcome: 'locked', userField: '#password' },
            { urlPattern: `${o}/locked`, textPattern: 'account is locked', outcome: 'locked', userField: '#username' },
            { urlPattern: `${o}/expired`, selector: '#error', textPattern: 'password has expired', outcome: 'expired', userField: '#username' },
            { urlPattern: `${o}/wrong`, textPattern: 'account is locked', outcome: 'locked' },
            { urlPattern: `${o}/script-only`, textPattern: 'account is locked', outcome: 'locked' },
            { urlPattern: `${o}/spa`, textPattern: 'account is locked', outcome: 'locked', userField: '#username' },
            { urlPattern: 'https://nowhere.example/*', textPattern: 'x', outcome: 'locked' },
            { urlPattern: 'https://bad.example/*', outcome: 'stuck' },
          ],
        },
      });
      await waitForRules(browser.worker);
    });

    after(async () => {
      await browser?.close();
      await site?.close();
    });

    async function banner(path: string): Promise<Page> {
      const page = await browser.context.newPage();
      await page.goto(`${site.origin}${path}`);
      return page;
    }

    async function clickBanner(page: Page, name: RegExp): Promise<Page> {
      const opened = browser.context.waitForEvent('page');
      await page.locator('unlatch-banner').getByRole('button', { name }).click();
      const reset = await opened;
      await reset.waitForLoadState();
      return reset;
    }

    it('shows the options page with the policy in effect and the problems in it', async () => {
      const page = await browser.openExtensionPage('options.html');
      await page.waitForSelector('#policy-status');
      assert.equal(await page.getAttribute('#policy-status', 'data-source'), 'policy');
      assert.equal((await page.locator('tr[data-key="tenant"] td.value').innerText()).trim(), 'acme');
      assert.match(await page.locator('tr[data-key="detectionRules"] td.value').innerText(), /^7 from policy/);
      assert.match(await page.locator('.problems').innerText(), /detectionRules\[7\].*outcome/);
      assert.equal(await page.locator('#extension-id').innerText(), browser.extensionId);
      assert.deepEqual(await seriousAxeViolations(page), []);
      await page.close();
    });

    it('offers to unlock on a locked sign-in page and opens the reset page with the user name', async () => {
      const page = await banner('/locked');
      const card = page.locator('unlatch-banner .card');
      await card.waitFor();
      assert.match(await card.innerText(), /Your account is locked/);
      assert.equal(await card.getAttribute('aria-label'), 'Unlatch password help');
      const reset = await clickBanner(page, /Unlock it/);
      const url = new URL(reset.url());
      assert.equal(url.protocol, 'chrome-extension:');
      assert.equal(url.searchParams.get('outcome'), 'locked');
      assert.equal(url.searchParams.get('user'), 'alice');
      assert.equal(await reset.locator('#user').inputValue(), 'alice');
      assert.equal(await reset.locator('#action-unlock').count(), 1, 'unlock is offered to a locked user');
      await reset.close();
      await page.close();
    });

    it('offers to change an expired password, matching text inside the rule\'s selector', async () => {
      const page = await banner('/expired');
      const reset = await clickBanner(page, /Change it now/);
      assert.equal(new URL(reset.url()).searchParams.get('user'), 'CORP\\bob');
      assert.equal(await reset.locator('#action-change').isChecked(), true);
      await reset.close();
      await page.close();
    });

    it('recognises a built-in sign-in page (AD FS path) with text split across elements', async () => {
      const page = await banner('/adfs/ls/');
      await page.locator('unlatch-banner .card').waitFor();
      const reset = await clickBanner(page, /Change it now/);
      assert.equal(new URL(reset.url()).searchParams.get('user'), 'alice');
      await reset.close();
      await page.close();
    });

    it('never reads a password field, even when a rule points at one', async () => {
      const page = await banner('/pw-field');
      const reset = await clickBanner(page, /Unlock it/);
      const url = new URL(reset.url());
      assert.equal(url.searchParams.get('user'), null);
      assert.doesNotMatch(reset.url(), /secret/);
      await reset.close();
      await page.close();
    });

    it('notices a message a single-page sign-in renders later', async () => {
      const page = await banner('/spa');
      await page.locator('unlatch-banner .card').waitFor({ timeout: 10_000 });
      await page.close();
    });

    it('stays silent on wrong-password pages, on pages no rule names, and on text inside scripts', async () => {
      for (const path of ['/wrong', '/elsewhere', '/script-only']) {
        const page = await banner(path);
        await page.waitForTimeout(700);
        assert.equal(await page.locator('unlatch-banner').count(), 0, path);
        await page.close();
      }
    });

    it('ignores scripted clicks on the banner: only a person opens the reset page', async () => {
      const page = await banner('/locked');
      await page.locator('unlatch-banner .card').waitFor();
      const pages = browser.context.pages().length;
      await page.evaluate(() => (document.querySelector('unlatch-banner')?.shadowRoot?.querySelector('.act') as HTMLButtonElement).click());
      await page.waitForTimeout(500);
      assert.equal(browser.context.pages().length, pages);
      await page.close();
    });
  });

  describe('without a pin', () => {
    let browser: ExtensionBrowser;
    before(async () => {
      browser = await launchWithExtension({ policy: { relayUrl: 'ws://127.0.0.1:9', tenant: 'acme' } });
    });
    after(() => browser?.close());

    it('refuses to talk to the agent and says what the admin must deploy', async () => {
      const page = await browser.openExtensionPage('reset.html?user=alice');
      const error = page.locator('.error');
      await error.waitFor();
      assert.equal(await error.getAttribute('data-code'), 'KEY_PIN_MISSING');
      assert.match(await error.innerText(), /signing-key pin/);
      assert.match(await error.innerText(), /For your administrator: error code KEY_PIN_MISSING/);
      assert.deepEqual(await seriousAxeViolations(page), []);
      // Starting again does not connect either.
      await page.getByRole('button', { name: 'Start again' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await error.waitFor();
      assert.equal(await error.getAttribute('data-code'), 'KEY_PIN_MISSING');
      await page.close();
    });
  });

  describe('without any policy', () => {
    let browser: ExtensionBrowser;
    before(async () => {
      browser = await launchWithExtension({});
    });
    after(() => browser?.close());

    it('tells the user, on the options page, what their admin must deploy', async () => {
      const page = await browser.openExtensionPage('options.html');
      await page.waitForSelector('#policy-status');
      assert.equal(await page.getAttribute('#policy-status', 'data-source'), 'none');
      const deploy = await page.locator('.deploy').innerText();
      assert.match(deploy, /relayUrl, tenant, signingKeyPin/);
      assert.match(deploy, new RegExp(browser.extensionId));
      assert.deepEqual(await seriousAxeViolations(page), []);
      await page.close();
    });

    it('says on the reset page that the extension is not set up', async () => {
      const page = await browser.openExtensionPage('reset.html');
      await page.getByRole('heading', { name: 'Not set up yet' }).waitFor();
      await page.close();
    });
  });

  describe('in German', () => {
    let browser: ExtensionBrowser;
    before(async () => {
      browser = await launchWithExtension({ locale: 'de', policy: { relayUrl: 'ws://127.0.0.1:9', tenant: 'acme', signingKeyPin: PIN } });
    });
    after(() => browser?.close());

    it('speaks the browser\'s language', async () => {
      const page = await browser.openExtensionPage('reset.html?outcome=locked');
      await page.getByRole('heading', { name: 'Wieder Zugang zu Ihrem Konto' }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'de');
      await page.close();
    });
  });
});
