/**
 * `npm run demo`: all of Unlatch on this machine, from real parts — a Samba AD DC on loopback
 * seeded with users in every state, an SMTP server whose mail is printed here, the relay, the
 * agent, the demo sign-in page, and the built extension with its policy written for the local
 * Chromium when we may. Ctrl-C stops everything and removes what it wrote.
 *
 * `npm run demo -- --smoke` runs the same set-up, performs one reset through the real client
 * protocol, prints the outcome and exits (0 on success): a quick check that the demo works.
 */
import { readFileSync } from 'node:fs';
import { extensionIdFromKey } from '../extension/lib/extension-id.ts';
import { startTestDirectory } from '../test/support/directory.ts';
import { expectOp, resetPassword } from '../test/support/flows.ts';
import { startStack } from '../test/support/stack.ts';
import { demoSettings, EXTENSION_DIR, installDemoPolicy, removeDemoPolicy, startDemoSite } from './demo-site/index.ts';

const smoke = process.argv.includes('--smoke');
const say = (s = '') => process.stdout.write(`${s}\n`);

say('Starting a throwaway Active Directory (Samba AD DC on 127.0.0.1) …');
const directory = await startTestDirectory();
const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8')) as { key: string };
const extensionId = await extensionIdFromKey(manifest.key);
// Plain ws on loopback: the browser has no reason to trust the test CA, and loopback is a
// secure context. A real relay runs wss (docs/configuration.md).
const stack = await startStack({ directory, tls: false, extensionIds: [extensionId] });
const site = await startDemoSite({ port: 0, ldapsUrl: directory.ldapsUrl, caPem: directory.caPem, baseDN: directory.baseDN, upnSuffix: directory.dnsDomain });
stack.mail.onMessage((m) => say(`\n📧 mail to ${m.to.join(', ')}: ${m.subject}\n${m.text.trim().replace(/^/gm, '   ')}\n`));

const settings = demoSettings({ relayUrl: stack.relayUrl, tenant: stack.tenant, pin: stack.pin, siteUrl: site.url });
const policyFiles = smoke ? [] : await installDemoPolicy(extensionId, settings);

async function shutdown(code: number): Promise<never> {
  await removeDemoPolicy().catch(() => undefined);
  await site.close();
  await stack.stop();
  await directory.stop();
  process.exit(code);
}

if (smoke) {
  const user = directory.users['dave']!;
  const session = await stack.openSession();
  const answer = await resetPassword(session, stack.mail, user.sam, user.mail as string, 'Demo-Smoke-2026!');
  session.close();
  expectOp(answer, 'done');
  const kinit = await directory.kinit(user.upn, 'Demo-Smoke-2026!');
  say(`smoke: reset of locked user ${user.sam} through client → relay → agent → AD: ${kinit.ok ? 'kinit OK' : `kinit FAILED (${kinit.error})`}`);
  await shutdown(kinit.ok ? 0 : 1);
}

const u = directory.users;
say(`
Unlatch demo is running.

  Demo sign-in page   ${site.url}
  Relay               ${stack.relayUrl}   (tenant "${stack.tenant}")
  Signing-key pin     ${stack.pin}
  Extension           load unpacked from ${EXTENSION_DIR}   (id ${extensionId})
  Policy              ${policyFiles.length ? `written to ${policyFiles.join(', ')} — restart Chromium to read it` : 'not written (not root, or no Chromium): deploy this as the extension\'s managed policy:'}
${policyFiles.length ? '' : JSON.stringify({ '3rdparty': { extensions: { [extensionId]: settings } } }, null, 2).replace(/^/gm, '    ')}
Try these accounts at the sign-in page (codes arrive below, as mail):
  ${u['dave']!.sam.padEnd(8)} ${u['dave']!.password.padEnd(22)} locked out
  ${u['carol']!.sam.padEnd(8)} ${u['carol']!.password.padEnd(22)} password expired
  ${u['bob']!.sam.padEnd(8)} ${u['bob']!.password.padEnd(22)} must change password
  ${u['alice']!.sam.padEnd(8)} ${u['alice']!.password.padEnd(22)} normal

Or from a terminal:  npx unlatch-client reset --relay ${stack.relayUrl} --tenant ${stack.tenant} --pin ${stack.pin}

Ctrl-C stops everything.`);

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
