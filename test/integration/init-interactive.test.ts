/**
 * `unlatch-agent init` in a terminal, as an admin meets it: the real CLI under a real
 * pseudo-terminal (util-linux `script`), answering each question when its text appears on the
 * screen. Checked against the flags path for the same answers, and for what must never show: the
 * service account's password. Without a terminal, init must behave exactly as before.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
// agentBinary gives the process a pipe, not a terminal, for stdin: what a script or CI gives.
import { agentBinary, ROOT } from '../support/cli.ts';

const PASSWORD = 'Unl4tch-Bind-Pa55!';
const CTRL_U = '\x15'; // readline: erase the line typed so far

const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]|\x1b[=>]/g;

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The agent CLI on a pseudo-terminal: stdin and stdout are a TTY, stderr goes to the same screen. */
class TerminalRun {
  private readonly child: ChildProcessWithoutNullStreams;
  private raw = '';
  /** Where in the screen text the next expected text is looked for. */
  private seen = 0;
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    // A wide screen, so that no message the test looks for is wrapped at the default 80 columns.
    const command = `stty cols 200 rows 50; exec ${[process.execPath, 'bin/unlatch-agent.js', ...args].map(shellQuote).join(' ')}`;
    this.child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, SHELL: '/bin/sh' } });
    this.child.stdout.on('data', (d: Buffer) => (this.raw += d.toString('utf8')));
    this.child.stderr.on('data', (d: Buffer) => (this.raw += d.toString('utf8')));
    this.exited = new Promise((done) => this.child.once('close', (code) => done(code)));
  }

  /** Everything the terminal received, escape sequences and all. */
  get transcript(): string {
    return this.raw;
  }

  /** What a person would read: no colours or cursor moves, no carriage returns. */
  get screen(): string {
    return this.raw.replace(ANSI, '').replace(/\r/g, '');
  }

  /** Waits until `text` appears after what was already waited for. */
  async waitFor(text: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const at = this.screen.indexOf(text, this.seen);
      if (at >= 0) {
        this.seen = at + text.length;
        return;
      }
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`"${text}" did not appear; the screen so far:\n${this.screen}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Types `typed` and Enter. */
  type(typed: string): void {
    this.child.stdin.write(`${typed}\r`);
  }

  /** Waits for the question, then answers it. */
  async answer(question: string, typed: string): Promise<void> {
    await this.waitFor(question);
    this.type(typed);
  }

  async exitCode(): Promise<number | null> {
    const code = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`init did not finish; the screen so far:\n${this.screen}`);
    }
    this.child.stdin.end();
    return code;
  }
}


function privateFiles(dir: string): string[] {
  return ['tenant.secret', 'agent.yaml', 'bind.password', ...readdirSync(join(dir, 'keys')).filter((f) => f.endsWith('.json')).map((f) => `keys/${f}`)];
}

describe('unlatch-agent init in a terminal', function () {
  this.timeout(60_000);
  const work = mkdtempSync(join(tmpdir(), 'unlatch-init-tty-'));
  const ldapCa = join(work, 'ldap-ca.pem');
  const smtpCa = join(work, 'smtp-ca.pem');
  before(function () {
    if (spawnSync('script', ['--version']).status !== 0) throw new Error('util-linux `script` is needed for these tests (Debian: bsdutils)');
    writeFileSync(ldapCa, '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n');
    writeFileSync(smtpCa, '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('asks for everything, re-asks a wrong answer, hides the password, and writes what the flags path writes', async () => {
    const dir = join(work, 'asked');
    const run = new TerminalRun(['init']);
    await run.answer("Folder for the agent's config, keys and secrets", dir);
    await run.answer('Tenant id at the relay', 'acme');
    await run.answer('Relay URL the agent connects to', 'http://relay.corp.example');
    // Refused as typed, with the reason; the same question stays open.
    await run.waitFor('write wss://relay.corp.example instead of http://');
    run.type(`${CTRL_U}wss://relay.corp.example`);
    await run.answer('Domain controllers (ldaps:// URLs, comma-separated)', 'ldaps://dc01.corp.example, ldaps://dc02.corp.example');
    await run.answer("CA certificate file for the DCs' LDAPS", ldapCa);
    await run.waitFor('Base DN where users are searched');
    await run.answer('(DC=corp,DC=example)', ''); // the guess from the DC's host, taken with Enter
    await run.answer('Service account DN', 'CN=svc-unlatch,OU=Service,DC=corp,DC=example');
    await run.answer('Service account password (hidden)', PASSWORD);
    await run.answer('Group allowed to use self-service', 'CN=Unlatch Users,OU=Groups,DC=corp,DC=example');
    await run.answer('SMTP server for codes and notices', 'mail.corp.example');
    await run.waitFor('SMTP port');
    await run.answer('(587)', '');
    await run.answer('Sender address', 'IT <it@corp.example>');
    await run.answer('CA certificate file for the SMTP server', smtpCa);
    await run.waitFor('About to write:');
    await run.answer('Write these files?', '');
    assert.equal(await run.exitCode(), 0, run.screen);

    assert.ok(!run.transcript.includes(PASSWORD), 'the password appeared on the terminal');
    assert.ok(run.screen.includes('"event":31005'), 'OnboardingEventSuccess was not written');
    for (const f of privateFiles(dir)) assert.equal(statSync(join(dir, f)).mode & 0o077, 0, `${f} is readable by others`);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(readFileSync(join(dir, 'bind.password'), 'utf8'), PASSWORD);

    // The flags path with the same answers, into another folder.
    const flagsDir = join(work, 'flags');
    writeFileSync(join(work, 'bind.secret'), PASSWORD, { mode: 0o600 });
    const flags = agentBinary([
      'init', '--dir', flagsDir, '--tenant', 'acme', '--relay-url', 'wss://relay.corp.example',
      '--ldap-url', 'ldaps://dc01.corp.example', '--ldap-url', 'ldaps://dc02.corp.example', '--ldap-ca-file', ldapCa,
      '--base-dn', 'DC=corp,DC=example', '--bind-dn', 'CN=svc-unlatch,OU=Service,DC=corp,DC=example',
      '--bind-password-file', join(work, 'bind.secret'), '--scope-group', 'CN=Unlatch Users,OU=Groups,DC=corp,DC=example',
      '--smtp-host', 'mail.corp.example', '--smtp-from', 'IT <it@corp.example>', '--smtp-ca-file', smtpCa,
    ]);
    assert.equal(flags.status, 0, flags.stderr);

    const asked = readFileSync(join(dir, 'agent.yaml'), 'utf8');
    const given = readFileSync(join(flagsDir, 'agent.yaml'), 'utf8');
    const comments = (text: string) => text.split('\n').filter((l) => l.startsWith('#'));
    assert.deepEqual(comments(asked), comments(given));
    const askedConfig = parseYaml(asked) as { directory: { bindPassword: { file: string } } };
    const givenConfig = parseYaml(given) as { directory: { bindPassword: { file: string } } };
    // The one path that differs: each names its own password file (relative to the config's folder).
    assert.equal(resolve(dir, askedConfig.directory.bindPassword.file), join(dir, 'bind.password'));
    assert.equal(givenConfig.directory.bindPassword.file, join(work, 'bind.secret'));
    askedConfig.directory.bindPassword.file = givenConfig.directory.bindPassword.file = '(password file)';
    assert.deepEqual(askedConfig, givenConfig);
    assert.ok(!asked.includes(PASSWORD));

    // The same printout as the flags path, for this folder, secret hash and pin.
    const pin = (text: string) => /signingKeyPin: (\S+)/.exec(text)?.[1] ?? 'none';
    const hash = (text: string) => /secretHash: (\S+)/.exec(text)?.[1] ?? 'none';
    const expected = flags.stdout.replaceAll(flagsDir, dir).replaceAll(pin(flags.stdout), pin(run.screen)).replace(hash(flags.stdout), hash(run.screen));
    assert.ok(run.screen.includes(expected), `the printout differs from the flags path's:\n${expected}\n---\n${run.screen}`);
    assert.ok(run.screen.includes(`unlatch-agent doctor --config ${join(dir, 'agent.yaml')}`));
  });

  it('asks only what the flags left out, and writes nothing when the summary is not confirmed', async () => {
    const dir = join(work, 'declined');
    const run = new TerminalRun([
      'init', '--dir', dir, '--tenant', 'acme', '--relay-url', 'wss://relay.corp.example', '--ldap-url', 'ldaps://dc01.corp.example',
      '--ldap-ca-file', ldapCa, '--base-dn', 'DC=corp,DC=example', '--bind-dn', 'CN=svc,DC=corp,DC=example',
      '--scope-group', 'CN=G,DC=corp,DC=example', '--smtp-host', 'mail.corp.example', '--smtp-port', '25', '--smtp-ca-file', smtpCa,
    ]);
    await run.answer('Service account password (hidden)', PASSWORD);
    await run.answer('Sender address', 'not an address');
    await run.waitFor('an e-mail address, e.g. it@corp.example');
    run.type(`${CTRL_U}it@corp.example`);
    await run.waitFor('mail.corp.example:25, TLS required');
    await run.answer('Write these files?', 'n');
    assert.equal(await run.exitCode(), 1, run.screen);
    assert.match(run.screen, /Nothing was written \(not confirmed\)/);
    for (const q of ['Folder for', 'Tenant id', 'Relay URL', 'Domain controllers', 'Base DN', 'Service account DN', 'SMTP port', 'SMTP server']) {
      assert.ok(!run.screen.includes(q), `"${q}" was asked although its flag was given`);
    }
    assert.ok(!run.transcript.includes(PASSWORD), 'the password appeared on the terminal');
    assert.equal(existsSync(dir), false, 'something was written after "no"');
  });

  it('asks before overwriting an existing config instead of demanding --force; "no" keeps it', async () => {
    const dir = join(work, 'existing');
    const first = agentBinary(['init', '--dir', dir, '--tenant', 'acme', '--relay-url', 'ws://127.0.0.1:1', '--ldap-url', 'ldaps://dc1.corp.example',
      '--base-dn', 'DC=corp,DC=example', '--bind-dn', 'CN=svc,DC=corp,DC=example', '--bind-password-file', '/nonexistent', '--smtp-host', 'mail', '--smtp-from', 'it@corp.example']);
    assert.equal(first.status, 0, first.stderr);
    const before = readFileSync(join(dir, 'agent.yaml'), 'utf8');
    const run = new TerminalRun(['init', '--dir', dir]);
    await run.answer('Overwrite the config?', 'n');
    assert.equal(await run.exitCode(), 1, run.screen);
    assert.match(run.screen, /Nothing was written \(kept .*agent\.yaml\)/);
    assert.equal(readFileSync(join(dir, 'agent.yaml'), 'utf8'), before);
    assert.ok(!run.screen.includes('Tenant id at the relay'));
  });

  it('--no-input on a terminal: no questions, the missing flags are named, exit 2', async () => {
    const run = new TerminalRun(['init', '--no-input', '--dir', join(work, 'no-input'), '--tenant', 'acme']);
    assert.equal(await run.exitCode(), 2, run.screen);
    assert.match(run.screen, /unlatch-agent init: missing --relay-url, --ldap-url, --base-dn, --bind-dn, --bind-password-file, --smtp-host, --smtp-from\n/);
    assert.ok(!run.screen.includes('Relay URL the agent connects to'), 'a question was asked');
    assert.equal(existsSync(join(work, 'no-input')), false);
  });

  it('without a terminal: exactly as before, exit 2 naming the missing flags', () => {
    const r = agentBinary(['init', '--dir', join(work, 'scripted'), '--tenant', 'acme', '--relay-url', 'wss://relay.corp.example']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith('unlatch-agent init: missing --ldap-url, --base-dn, --bind-dn, --bind-password-file, --smtp-host, --smtp-from\n\nUsage: unlatch-agent'), r.stderr);
    assert.equal(existsSync(join(work, 'scripted')), false);
    const forced = agentBinary(['init', '--interactive', '--dir', join(work, 'scripted')]);
    assert.equal(forced.status, 2);
    assert.match(forced.stderr, /--interactive needs a terminal/);
  });
});
