/**
 * The checks and guesses of `unlatch-agent init`'s terminal dialogue (agent/init-questions.ts),
 * and the dialogue's order and skipping with scripted answers (agent/init-dialogue.ts).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { askInitOptions, BIND_PASSWORD_FILE, type Prompter } from '../../agent/init-dialogue.ts';
import * as q from '../../agent/init-questions.ts';

describe('init dialogue: answer checks', () => {
  const work = mkdtempSync(join(tmpdir(), 'unlatch-init-q-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('tenant ids follow the relay rule', () => {
    for (const ok of ['acme', 'a', 'corp-1', '9lives', 'a'.repeat(63)]) assert.equal(q.checkTenant(ok), true, ok);
    for (const bad of ['', 'Acme', '-acme', 'ac_me', 'a.b', 'a'.repeat(64)]) assert.match(String(q.checkTenant(bad)), /lower-case letters, digits and "-"/, bad);
  });

  it('relay URL: wss:// anywhere, ws:// only to this host', () => {
    for (const ok of ['wss://relay.example.com', 'wss://relay.example.com:8443/unlatch', 'ws://127.0.0.1:8443', 'ws://localhost:9000', 'ws://[::1]:1']) {
      assert.equal(q.checkRelayUrl(ok), true, ok);
    }
    assert.match(String(q.checkRelayUrl('ws://relay.example.com')), /use wss:\/\/.*only allowed to 127\.0\.0\.1 or localhost, not relay\.example\.com/);
    assert.match(String(q.checkRelayUrl('http://relay.example.com')), /write wss:\/\/relay\.example\.com instead of http:\/\//);
    assert.match(String(q.checkRelayUrl('https://relay.example.com:8443')), /write wss:\/\/relay\.example\.com:8443 instead of https:\/\//);
    for (const bad of ['', 'relay.example.com', 'wss://relay example.com', 'ftp://x']) assert.match(String(q.checkRelayUrl(bad)), /a wss:\/\/ URL/, bad);
  });

  it('LDAP URLs: ldaps:// only, several separated by commas', () => {
    assert.equal(q.checkLdapUrls('ldaps://dc01.corp.example'), true);
    assert.equal(q.checkLdapUrls('ldaps://dc01.corp.example:636, ldaps://10.0.0.2 ,'), true);
    assert.deepEqual(q.splitLdapUrls(' ldaps://a , ,ldaps://b:636 '), ['ldaps://a', 'ldaps://b:636']);
    assert.match(String(q.checkLdapUrls('ldaps://dc1.corp.example,ldap://dc2.corp.example')), /^ldap:\/\/dc2\.corp\.example: use ldaps:\/\/ — the agent writes passwords only over TLS/);
    assert.match(String(q.checkLdapUrls('dc1.corp.example')), /^dc1\.corp\.example: not an LDAPS URL/);
    assert.match(String(q.checkLdapUrls('ldaps://dc1/DC=corp')), /leave out the path/);
    assert.match(String(q.checkLdapUrls(' , ')), /at least one DC/);
  });

  it('DNs look like DNs; the scope group may be blank', () => {
    for (const ok of ['DC=corp,DC=example', 'CN=svc-unlatch,OU=Service,DC=corp,DC=example', 'cn=Smith\\, John,dc=x', 'O=Acme', '2.5.4.3=x']) {
      assert.equal(q.checkBaseDn(ok), true, ok);
      assert.equal(q.checkBindDn(ok), true, ok);
    }
    for (const bad of ['', 'corp.example', 'svc-unlatch@corp.example', 'CN=svc,,DC=x', 'CN=', '=x']) {
      assert.match(String(q.checkBindDn(bad)), /^not a DN: comma-separated NAME=value parts, e\.g\. CN=/, bad);
    }
    assert.match(String(q.checkBaseDn('corp')), /e\.g\. DC=corp,DC=example$/);
    assert.equal(q.checkScopeGroup(''), true);
    assert.equal(q.checkScopeGroup('CN=Unlatch Users,DC=corp,DC=example'), true);
    assert.match(String(q.checkScopeGroup('Unlatch Users')), /^not a DN/);
  });

  it('the base DN is guessed from the first DC host', () => {
    assert.equal(q.defaultBaseDn('ldaps://dc01.corp.example'), 'DC=corp,DC=example');
    assert.equal(q.defaultBaseDn('ldaps://dc01.ad.corp.example:636, ldaps://dc02.other.example'), 'DC=ad,DC=corp,DC=example');
    assert.equal(q.defaultBaseDn('ldaps://corp.example'), 'DC=corp,DC=example');
    assert.equal(q.defaultBaseDn('ldaps://10.0.0.5'), undefined);
    assert.equal(q.defaultBaseDn('ldaps://[fd00::5]'), undefined);
    assert.equal(q.defaultBaseDn('ldaps://dc01'), undefined);
    assert.equal(q.defaultBaseDn(''), undefined);
  });

  it('SMTP host, port and sender', () => {
    for (const ok of ['mail.corp.example', 'smtp', '10.0.0.25', '::1']) assert.equal(q.checkHost(ok), true, ok);
    for (const bad of ['', 'smtp://mail.corp.example', 'mail.corp.example:587', 'mail corp']) assert.match(String(q.checkHost(bad)), /a host name or IP address/, bad);
    for (const ok of ['587', '25', '465', '65535']) assert.equal(q.checkPort(ok), true, ok);
    for (const bad of ['', '0', '65536', '58 7', '-1', '1e3', 'abc']) assert.match(String(q.checkPort(bad)), /a port number from 1 to 65535/, bad);
    for (const ok of ['it@corp.example', 'IT <it@corp.example>', 'IT Service Desk<it.desk+unlatch@mail.corp.example>']) assert.equal(q.checkSender(ok), true, ok);
    for (const bad of ['', 'it', 'it@corp', 'IT <it@corp.example', 'it@@corp.example', 'IT it@corp.example']) assert.match(String(q.checkSender(bad)), /an e-mail address, e\.g\./, bad);
  });

  it('the password: not empty, no white space at either end (the file is read trimmed)', () => {
    assert.equal(q.checkBindPassword('Pa$$ w0rd with spaces inside'), true);
    assert.match(String(q.checkBindPassword('')), /type the service account's password/);
    assert.match(String(q.checkBindPassword(' secret')), /white space/);
    assert.match(String(q.checkBindPassword('secret\t')), /white space/);
  });

  it('the folder may be missing but not a file; CA files must be readable PEM', () => {
    const pem = join(work, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const der = join(work, 'ca.der');
    writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    assert.equal(q.checkDir(join(work, 'new-folder')), true);
    assert.equal(q.checkDir(work), true);
    assert.match(String(q.checkDir(pem)), /is a file: give a folder/);
    assert.match(String(q.checkDir('  ')), /give a folder/);
    assert.equal(q.checkCaFile(''), true);
    assert.equal(q.checkCaFile(pem), true);
    assert.match(String(q.checkCaFile(join(work, 'missing.pem'))), /^no such file: /);
    assert.match(String(q.checkCaFile(work)), /is not a file/);
    assert.match(String(q.checkCaFile(der)), /holds no PEM certificate/);
    if (process.getuid?.() !== 0) {
      // root reads anything, so only an ordinary user can see this refusal.
      const hidden = join(work, 'hidden.pem');
      writeFileSync(hidden, 'x');
      chmodSync(hidden, 0o000);
      assert.match(String(q.checkCaFile(hidden)), /cannot read .* \(EACCES\)/);
    }
  });
});

/** Answers in order; each is checked as the terminal would, and a refused one fails the test. */
function scripted(answers: Array<string | boolean>): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string) => {
    asked.push(message);
    if (!answers.length) throw new Error(`no answer left for "${message}"`);
    return answers.shift() as string | boolean;
  };
  return {
    asked,
    text: async (message, check, defaultValue) => {
      const answer = (next(message) as string) || defaultValue || '';
      const verdict = check(answer);
      if (verdict !== true) throw new Error(`"${message}" refused "${answer}": ${verdict}`);
      return answer;
    },
    secret: async (message, check) => {
      const answer = next(message) as string;
      assert.equal(check(answer), true);
      return answer;
    },
    yesNo: async (message) => next(message) as boolean,
  };
}

describe('init dialogue: what is asked', () => {
  const work = mkdtempSync(join(tmpdir(), 'unlatch-init-d-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('asks only what the flags left out, guesses the base DN, and hands the password back apart from the options', async () => {
    const ask = scripted(['ldaps://dc01.corp.example, ldaps://dc02.corp.example', '', '', 'CN=svc,DC=corp,DC=example', 'typed secret', '', 'mail.corp.example', '', 'it@corp.example', '', true]);
    let said = '';
    const answers = await askInitOptions({ dir: join(work, 'a'), tenant: 'acme', relayUrl: 'wss://relay.example.com', smtpRequireTLS: true, force: false }, ask, (s) => (said += s));
    assert.deepEqual(ask.asked, [
      'Domain controllers (ldaps:// URLs, comma-separated)',
      "CA certificate file for the DCs' LDAPS (blank: the system's CAs)",
      'Base DN where users are searched',
      'Service account DN',
      'Service account password (hidden)',
      'Group allowed to use self-service (DN, blank: everyone)',
      'SMTP server for codes and notices',
      'SMTP port',
      'Sender address (e.g. IT <it@corp.example>)',
      "CA certificate file for the SMTP server (blank: the system's CAs)",
      'Write these files?',
    ]);
    assert.ok(!ask.asked.some((m) => /Folder|Tenant|Relay URL/.test(m)), 'a value given as a flag was asked');
    assert.equal(answers.written, true);
    if (!answers.written) return;
    assert.equal(answers.bindPassword, 'typed secret');
    assert.deepEqual(answers.options.ldapUrls, ['ldaps://dc01.corp.example', 'ldaps://dc02.corp.example']);
    assert.equal(answers.options.baseDN, 'DC=corp,DC=example');
    assert.equal(answers.options.smtpPort, 587);
    assert.equal(answers.options.bindPasswordFile, BIND_PASSWORD_FILE);
    assert.equal(answers.options.scopeGroupDN, undefined);
    assert.equal(answers.options.ldapCaFile, undefined);
    assert.ok(said.includes('About to write:') && said.includes('mail.corp.example:587, TLS required'));
    assert.ok(!said.includes('typed secret'), 'the summary shows the password');
  });

  it('with a password file given, no password is asked; a "no" at the end writes nothing', async () => {
    const ask = scripted(['./rel-dir', 'ldaps://10.0.0.2', '', 'DC=corp,DC=example', 'CN=svc,DC=corp,DC=example', 'CN=G,DC=corp,DC=example', 'mail', '25', 'it@corp.example', '', false]);
    const answers = await askInitOptions({ tenant: 'acme', relayUrl: 'ws://127.0.0.1:1', bindPasswordFile: '/etc/secret', smtpRequireTLS: true, force: false }, ask, () => undefined);
    assert.ok(!ask.asked.some((m) => /password/i.test(m)));
    assert.deepEqual(answers, { written: false, reason: 'not confirmed' });
  });

  it('asks before overwriting an existing config, and stops at a "no" before any other question', async () => {
    const dir = join(work, 'existing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'agent.yaml'), 'tenant: old\n');
    const no = scripted([false]);
    assert.deepEqual(await askInitOptions({ dir, smtpRequireTLS: true, force: false }, no, () => undefined), { written: false, reason: `kept ${resolve(dir, 'agent.yaml')}` });
    assert.match(no.asked[0] ?? '', /agent\.yaml exists\. Overwrite the config\?/);
    const yes = scripted([true, 'acme', 'wss://r.example', 'ldaps://dc1.corp.example', '', '', 'CN=svc,DC=corp,DC=example', 'pw', '', 'mail', '', 'it@corp.example', '', true]);
    const answers = await askInitOptions({ dir, smtpRequireTLS: true, force: false }, yes, () => undefined);
    assert.equal(answers.written && answers.options.force, true);
  });
});
