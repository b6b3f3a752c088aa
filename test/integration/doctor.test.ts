/**
 * `unlatch-agent doctor` against real things: the Samba test DC with the delegated service
 * accounts, a real relay over TLS (with a running agent on it), the SMTP catcher. What an admin
 * would see: which check fails, what it says, and the fix.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { AgentConfig } from '../../agent/config.ts';
import { doctorExitCode, formatDoctor, runDoctor, type CheckResult } from '../../agent/doctor/index.ts';
import { startMailCatcher } from '../support/mail.ts';
import { testPki } from '../support/pki.ts';
import { startStack, type Stack } from '../support/stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RIGHTS = ['rights:reset-password', 'rights:change-password', 'rights:write-lockoutTime', 'rights:write-pwdLastSet'];

describe('unlatch-agent doctor', function () {
  this.timeout(120_000);
  let stack: Stack;
  let work: string;
  let counter = 0;

  before(async () => {
    stack = await startStack();
    work = mkdtempSync(join(tmpdir(), 'unlatch-doctor-'));
  });
  after(async () => {
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Writes the stack's agent config, changed by `patch`, as YAML; returns its path. */
  function config(patch: (c: AgentConfig) => void = () => {}): string {
    const c = structuredClone(stack.agentConfig);
    patch(c);
    const file = join(work, `agent-${++counter}.yaml`);
    writeFileSync(file, stringify(c));
    return file;
  }

  function secretFile(content: string): string {
    const file = join(work, `secret-${++counter}`);
    writeFileSync(file, content, { mode: 0o600 });
    return file;
  }

  const byId = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

  function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['bin/unlatch-agent.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  }

  it('passes every check with the delegated service account, a real relay and the SMTP server, and leaves the running agent alone', async () => {
    const agentsBefore = stack.relay.stats().agents;
    const results = await runDoctor({ configPath: config() });
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, [], formatDoctor(results));
    const r = byId(results);
    for (const id of ['config', `dc:${stack.directory.ldapsUrl}`, 'bind', 'pdc', 'scope', ...RIGHTS, 'clock', 'relay', 'smtp']) {
      assert.equal(r[id]?.level, 'ok', `${id}: ${JSON.stringify(r[id])}`);
    }
    // Samba 4.17 does not advertise the policy-hints control: a warning, not a failure.
    assert.equal(r['policy-hints']?.level, 'warn');
    assert.match(r['pdc']?.detail ?? '', /dc1\.unlatch\.test holds the role/);
    assert.match(r['rights:reset-password']?.detail ?? '', /OU=People,DC=unlatch,DC=test .*granted to svc-unlatch/);
    assert.equal(doctorExitCode(results), 0);
    // The doctor's relay connection never said hello: the agent is still the only one, still up.
    assert.equal(stack.relay.stats().agents, agentsBefore);
    assert.equal(stack.agent?.link.isOpen, true);
  });

  it('runs as the built command: JSON for monitoring, one line per check for people, exit 0', async () => {
    const file = config();
    const json = await runCli(['doctor', '--config', file, '--json']);
    assert.equal(json.code, 0, json.stdout + json.stderr);
    const results = JSON.parse(json.stdout) as CheckResult[];
    assert.ok(results.length >= 14);
    for (const r of results) {
      assert.deepEqual(Object.keys(r).sort(), ['check', 'detail', 'fix', 'level', 'ok', 'title']);
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    const text = await runCli(['doctor', '--config', file]);
    assert.equal(text.code, 0);
    const lines = text.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^✔ config: /);
    assert.ok(lines.some((l) => /^✔ right: write lockoutTime: /.test(l)));
    assert.match(lines.at(-1) ?? '', /^All \d+ checks passed/);
  });

  it('names the missing right, and how to grant it, when the account may not write lockoutTime', async () => {
    const svc = stack.directory.serviceNoLockout;
    const file = config((c) => {
      c.directory.bindDN = svc.dn;
      c.directory.bindPassword = { file: secretFile(svc.password) };
    });
    const results = await runDoctor({ configPath: file });
    const r = byId(results);
    const lockout = r['rights:write-lockoutTime'];
    assert.equal(lockout?.level, 'fail');
    assert.match(lockout?.detail ?? '', /^missing: write lockoutTime on users in OU=People,DC=unlatch,DC=test/);
    assert.match(lockout?.fix ?? '', /dsacls "OU=People,DC=unlatch,DC=test" \/I:S \/G "svc-nolockout@unlatch\.test:WP;lockoutTime;user"/);
    assert.match(lockout?.fix ?? '', /samba-tool dsacl set .*--sddl="\(OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-[\d-]+\)"/);
    for (const id of ['rights:reset-password', 'rights:change-password', 'rights:write-pwdLastSet', 'bind']) assert.equal(r[id]?.level, 'ok', id);
    assert.deepEqual(results.filter((x) => !x.ok).map((x) => x.check), ['rights:write-lockoutTime']);
    assert.equal(doctorExitCode(results), 1);
  });

  it('names the unreachable DC (a wrong port) and still checks everything through the one that answers', async () => {
    const file = config((c) => {
      c.directory.urls = ['ldaps://127.0.0.1:1', stack.directory.ldapsUrl];
    });
    const started = Date.now();
    const results = await runDoctor({ configPath: file });
    assert.ok(Date.now() - started < 10_000);
    const r = byId(results);
    assert.equal(r['dc:ldaps://127.0.0.1:1']?.level, 'fail');
    assert.match(r['dc:ldaps://127.0.0.1:1']?.title ?? '', /ldaps:\/\/127\.0\.0\.1:1$/);
    assert.match(r['dc:ldaps://127.0.0.1:1']?.detail ?? '', /connection refused by 127\.0\.0\.1:1/);
    assert.equal(r[`dc:${stack.directory.ldapsUrl}`]?.level, 'ok');
    for (const id of ['bind', 'pdc', ...RIGHTS]) assert.equal(r[id]?.level, 'ok', id);
    assert.deepEqual(results.filter((x) => !x.ok).map((x) => x.check), ['dc:ldaps://127.0.0.1:1']);
  });

  it('tells a certificate that is not trusted from one for another name', async () => {
    const untrusted = byId(await runDoctor({ configPath: config((c) => void (c.directory.caFile = testPki().files.ca)) }));
    const dc = `dc:${stack.directory.ldapsUrl}`;
    assert.equal(untrusted[dc]?.level, 'fail');
    assert.match(untrusted[dc]?.detail ?? '', /^certificate not trusted \(/);
    assert.match(untrusted[dc]?.fix ?? '', /directory\.caFile does not hold the CA/);
    assert.equal(untrusted['bind']?.ok, false); // not checked: nothing reachable

    const mismatch = byId(await runDoctor({ configPath: config((c) => void (c.directory.tlsServername = 'wrong.unlatch.test')) }));
    assert.equal(mismatch[dc]?.level, 'fail');
    assert.match(mismatch[dc]?.detail ?? '', /^certificate name mismatch: it is for .*dc1\.unlatch\.test.*, not wrong\.unlatch\.test/);
    assert.match(mismatch[dc]?.fix ?? '', /directory\.tlsServername/);
  });

  it('explains a wrong service account password as data 52e', async () => {
    // A throwaway account: a bad bind counts towards lockout, and the shared service accounts must stay usable.
    const account = await stack.directory.createUser(stack.directory.uniqueName('docbind'));
    const r = byId(
      await runDoctor({
        configPath: config((c) => {
          c.directory.bindDN = account.dn;
          c.directory.bindPassword = { file: secretFile('Not-The-Password-1') };
        }),
      }),
    );
    assert.equal(r['bind']?.level, 'fail');
    assert.match(r['bind']?.detail ?? '', /invalid credentials \(data 52e\)/);
    assert.match(r['bind']?.fix ?? '', /directory\.bindPassword/);
    assert.doesNotMatch(JSON.stringify(r), /Not-The-Password-1/);
  });

  it('says the relay refused the tenant secret, and which hash the relay needs', async () => {
    const wrong = 'wrong-tenant-secret-0123456789abcdefghijklmnopq';
    const r = byId(await runDoctor({ configPath: config((c) => void (c.relay.secret = { file: secretFile(wrong) })) }));
    assert.equal(r['relay']?.level, 'fail');
    assert.match(r['relay']?.detail ?? '', /the relay refused the tenant secret \(HTTP 401\)/);
    assert.match(r['relay']?.fix ?? '', /secretHash: "sha256:[A-Za-z0-9_-]{43}"/);
    assert.doesNotMatch(JSON.stringify(r), new RegExp(wrong));
    assert.equal(stack.agent?.link.isOpen, true);
  });

  it('names the stopped SMTP server', async () => {
    const mail = await startMailCatcher();
    const port = mail.port;
    await mail.close();
    const r = byId(await runDoctor({ configPath: config((c) => void (c.smtp.port = port)) }));
    assert.equal(r['smtp']?.level, 'fail');
    assert.match(r['smtp']?.detail ?? '', new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`));
    assert.match(r['smtp']?.fix ?? '', /smtp\.host, smtp\.port/);
  });

  it('reports an invalid config with the path of each bad value, and exits 2', async () => {
    const file = join(work, 'bad.yaml');
    writeFileSync(file, stringify({ ...structuredClone(stack.agentConfig), directory: { ...stack.agentConfig.directory, urls: ['ldap://dc1.corp.example'] } }));
    const results = await runDoctor({ configPath: file });
    assert.equal(results.length, 1);
    assert.equal(results[0]?.check, 'config');
    assert.match(results[0]?.detail ?? '', /directory\.urls\.0: use ldaps:\/\//);
    assert.equal(doctorExitCode(results), 2);
  });

  it('finishes within seconds when nothing answers', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never routed, so connections hang (or fail at once).
    const file = config((c) => {
      c.directory.urls = ['ldaps://192.0.2.1:636'];
      c.relay.url = 'wss://192.0.2.1:443';
      c.smtp.host = '192.0.2.1';
    });
    const started = Date.now();
    const results = await runDoctor({ configPath: file, timeoutMs: 1000 });
    assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
    const r = byId(results);
    for (const id of ['dc:ldaps://192.0.2.1:636', 'relay', 'smtp']) {
      assert.equal(r[id]?.level, 'fail', id);
      assert.match(r[id]?.detail ?? '', /no answer|no route|unreachable|refused/, id);
    }
    assert.equal(r['bind']?.level, 'skip');
  });
});
