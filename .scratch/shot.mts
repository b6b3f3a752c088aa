import { launchWithExtension } from '/work/main/test/browser/support/browser.ts';
const b = await launchWithExtension({ policy: { relayUrl: 'ws://127.0.0.1:9', tenant: 'acme', signingKeyPin: 'q1Vb3yJ6p3h0mX0b1pWm2ZsF6bq0f5uYq2mH1cVxN0s', companyName: 'Acme', helpdeskUrl: 'https://help.example', helpdeskText: 'Call 555-0100.' } });
const p = await b.openExtensionPage('reset.html?outcome=locked&user=alice');
await p.getByRole('button', { name: 'Continue' }).waitFor();
await p.screenshot({ path: '/tmp/reset1.png' });
await p.getByRole('button', { name: 'Continue' }).click();
await p.locator('.error').waitFor();
await p.screenshot({ path: '/tmp/reset2.png' });
await b.close();
