/**
 * Onboarding from nothing, as an admin does it: `unlatch-agent init` (real process), the printed
 * relay entry into the relay config, `unlatch-agent run` (real process), then a reset through
 * the printed pin; and `unlatch-agent policy` output that the extension's own settings parser
 * accepts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { parse as parseYaml } from 'yaml';
import { parsePolicy } from '../../extension/lib/settings.ts';
import { ClientSession, type WebSocketLike } from '../../protocol/client.ts';
import { startRelay, type Relay } from '../../relay/index.ts';
import type { TestDirectory } from '../support/directory.ts';
import { agentBinary, ROOT } from '../support/cli.ts';
import { expectOp, resetPassword } from '../support/flows.ts';
import { sharedDirectory } from '../support/hooks.ts';
import { startMailCatcher, type MailCatcher } from '../support/mail.ts';



async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('Onboarding: unlatch-agent init → relay entry → run → reset', function () {
  this.timeout(90_000);
  let directory: TestDirectory;
  let mail: MailCatcher;
  let relay: Relay | undefined;
  let agent: ChildProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'unlatch-onboard-'));

  before(async () => {
    directory = await sharedDirectory();
    mail = await startMailCatcher();
  });
  after(async () => {
    agent?.kill('SIGTERM');
    await relay?.close();
    await mail?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('init writes safe files and prints what the relay and the browser need; the whole path then works', async () => {
    writeFileSync(join(work, 'bind.secret'), directory.service.password, { mode: 0o600 });
    writeFileSync(join(work, 'ldap-ca.pem'), directory.caPem);
    const port = await freePort();
    const dir = join(work, 'agent');
    const init = agentBinary([
      'init', '--dir', dir, '--tenant', 'onboard', '--relay-url', `ws://127.0.0.1:${port}`,
      '--ldap-url', directory.ldapsUrl, '--base-dn', directory.baseDN, '--bind-dn', directory.service.dn,
      '--bind-password-file', join(work, 'bind.secret'), '--ldap-ca-file', join(work, 'ldap-ca.pem'),
      '--scope-group', directory.scopeGroupDN, '--smtp-host', mail.host, '--smtp-port', String(mail.port),
      '--smtp-from', 'IT <it@corp.example>', '--smtp-ca-file', mail.caFile,
    ]);
    assert.equal(init.status, 0, init.stderr);
    assert.ok(init.stderr.includes('"event":31005'), 'OnboardingEventSuccess was not written');
    for (const f of ['tenant.secret', 'agent.yaml', 'keys/signing.json', 'keys/encryption.json']) {
      assert.equal(statSync(join(dir, f)).mode & 0o077, 0, `${f} is readable by others`);
    }
    const pin = /signingKeyPin: (\S+)/.exec(init.stdout)?.[1];
    assert.match(pin ?? '', /^[A-Za-z0-9_-]{43}$/);
    const entryYaml = /under "tenants:" in the relay config:\n([\s\S]*?)\n\n/.exec(init.stdout)?.[1] ?? '';
    const tenants = parseYaml(entryYaml.replace(/^ {2}/gm, '')) as Array<{ id: string; secretHash: string }>;
    assert.equal(tenants[0]?.id, 'onboard');
    assert.ok(!init.stdout.includes(readFileSync(join(dir, 'tenant.secret'), 'utf8').trim()), 'the secret itself was printed');

    // The relay operator pastes the entry; the agent runs as its own process.
    relay = await startRelay({ listen: { host: '127.0.0.1', port }, log: { level: 'silent' }, pow: { difficulty: 8 }, tenants: tenants.map((t) => ({ ...t, allowNoOrigin: true })) });
    agent = spawn(process.execPath, ['bin/unlatch-agent.js', 'run', '--config', join(dir, 'agent.yaml')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      agent!.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('"event":31030')) resolve();
      });
      agent!.once('exit', (code) => reject(new Error(`agent exited ${code}: ${seen}`)));
    });

    const user = await directory.createUser('onboard1', { state: 'locked' });
    const session = await ClientSession.open({
      relayUrl: relay.url,
      tenant: 'onboard',
      pin,
      connect: (url) => new WebSocket(url) as unknown as WebSocketLike,
    });
    expectOp(await resetPassword(session, mail, user.sam, user.mail as string, 'Onboarded-Reset-2026'), 'done');
    session.close();
    assert.equal((await directory.kinit(user.upn, 'Onboarded-Reset-2026')).ok, true);

    // The browser policy for this tenant: exactly what the extension's settings parser accepts.
    const policy = agentBinary(['policy', '--config', join(dir, 'agent.yaml'), '--relay-url', 'wss://relay.corp.example', '--out', join(work, 'policy')]);
    assert.equal(policy.status, 0, policy.stderr);
    const chrome = JSON.parse(readFileSync(join(work, 'policy', 'chrome-policy.json'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    const [extensionId, settings] = Object.entries(chrome['3rdparty']!['extensions']!)[0]!;
    assert.ok((chrome['ExtensionInstallForcelist'] as unknown as string[]).some((e) => e.startsWith(`${extensionId};`)));
    const parsed = parsePolicy(settings);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.settings.signingKeyPin, pin);
    assert.equal(parsed.settings.tenant, 'onboard');
    const reg = readFileSync(join(work, 'policy', 'chrome.reg'));
    assert.deepEqual([...reg.subarray(0, 2)], [0xff, 0xfe]);
    assert.ok(reg.toString('utf16le').includes(pin!));
    const firefox = JSON.parse(readFileSync(join(work, 'policy', 'firefox-policies.json'), 'utf8')) as { policies: Record<string, unknown> };
    assert.ok(JSON.stringify(firefox.policies).includes(pin!));

    // init wrote the same policy for the relay URL it was given, and printed its settings.
    assert.match(init.stdout, new RegExp(`Browser policy written to ${dir}/policy/`));
    const initial = JSON.parse(readFileSync(join(dir, 'policy', 'chrome-policy.json'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    const initialParsed = parsePolicy(initial['3rdparty']!['extensions']![extensionId]);
    assert.deepEqual(initialParsed.problems, []);
    assert.deepEqual(
      { relayUrl: initialParsed.settings.relayUrl, tenant: initialParsed.settings.tenant, signingKeyPin: initialParsed.settings.signingKeyPin },
      { relayUrl: `ws://127.0.0.1:${port}`, tenant: 'onboard', signingKeyPin: pin },
    );
    assert.ok(init.stdout.includes(`"signingKeyPin": "${pin}"`));
  });
});
