import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyNetError, fail, pass, skip, warn, within } from '../../agent/doctor/check.ts';
import { doctorExitCode, formatDoctor, runDoctor } from '../../agent/doctor/index.ts';
import { parseGeneralizedTime } from '../../agent/directory/diagnostics.ts';

describe('unlatch-agent doctor (offline parts)', () => {
  describe('classifyNetError()', () => {
    it('tells refused, timeout, DNS, certificate and name problems apart, also from wrapped messages', () => {
      assert.equal(classifyNetError('ECONNREFUSED'), 'refused');
      assert.equal(classifyNetError('ESOCKET', 'connect ECONNREFUSED 127.0.0.1:25'), 'refused');
      assert.equal(classifyNetError('ETIMEDOUT'), 'timeout');
      assert.equal(classifyNetError(undefined, 'Opening handshake has timed out'), 'timeout');
      assert.equal(classifyNetError('ENOTFOUND', 'getaddrinfo ENOTFOUND dc9.corp.example'), 'dns');
      assert.equal(classifyNetError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'untrusted');
      assert.equal(classifyNetError('ESOCKET', 'self-signed certificate in certificate chain'), 'untrusted');
      assert.equal(classifyNetError('ERR_TLS_CERT_ALTNAME_INVALID'), 'name_mismatch');
      assert.equal(classifyNetError('CERT_HAS_EXPIRED'), 'expired');
      assert.equal(classifyNetError('ERR_SSL_WRONG_VERSION_NUMBER'), 'not_tls');
      assert.equal(classifyNetError('ECONNRESET'), 'reset');
      assert.equal(classifyNetError('EWHATEVER', 'something else'), 'other');
    });
  });

  describe('parseGeneralizedTime()', () => {
    it('reads rootDSE currentTime', () => {
      assert.equal(parseGeneralizedTime('20261123202609.0Z')?.toISOString(), '2026-11-23T20:26:09.000Z');
      assert.equal(parseGeneralizedTime('20261123202609Z')?.toISOString(), '2026-11-23T20:26:09.000Z');
      assert.equal(parseGeneralizedTime('yesterday'), undefined);
    });
  });

  describe('formatDoctor() and doctorExitCode()', () => {
    it('prints one line per check with the fix, and a summary; warnings do not fail the run', () => {
      const ok = [pass('a', 'alpha', 'fine'), warn('b', 'beta', 'so-so', 'do this'), skip('c', 'gamma', 'not configured', true)];
      assert.equal(formatDoctor(ok), '✔ alpha: fine\n! beta: so-so — fix: do this\n- gamma: not configured\n\nAll 3 checks passed (1 warning).\n');
      assert.equal(doctorExitCode(ok), 0);
      const bad = [...ok, fail('d', 'delta', 'broken', 'mend it'), skip('e', 'epsilon', 'not checked', false)];
      assert.match(formatDoctor(bad), /^✘ delta: broken — fix: mend it$/m);
      assert.match(formatDoctor(bad), /2 of 5 checks failed, 1 warning\.\n$/);
      assert.equal(doctorExitCode(bad), 1);
    });
  });

  describe('within()', () => {
    it('gives the timeout value when the promise is too slow', async () => {
      assert.equal(await within(20, new Promise<string>(() => {}), () => 'late'), 'late');
      assert.equal(await within(1000, Promise.resolve('now'), () => 'late'), 'now');
    });
  });

  describe('runDoctor() with a config it cannot use', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'unlatch-doctor-unit-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reports a missing file and an invalid value as the first (and only) failed check, with their paths', async () => {
      const missing = await runDoctor({ configPath: join(dir, 'nope.yaml') });
      assert.deepEqual(
        missing.map((r) => [r.check, r.ok]),
        [['config', false]],
      );
      assert.match(missing[0]?.detail ?? '', /cannot read the file \(ENOENT\)/);
      assert.equal(doctorExitCode(missing), 2);

      writeFileSync(join(dir, 'bad.yaml'), 'tenant: Acme\nrelay: { url: "http://x" }\n');
      const bad = await runDoctor({ configPath: join(dir, 'bad.yaml') });
      assert.equal(bad.length, 1);
      assert.match(bad[0]?.detail ?? '', /tenant: use lower-case/);
      assert.match(bad[0]?.detail ?? '', /relay\.url: use a ws:\/\/ or wss:\/\/ URL/);
      assert.match(bad[0]?.fix ?? '', /docs\/configuration\.md/);
    });

    it('names an unreadable secret file and skips only what needs it', async () => {
      writeFileSync(
        join(dir, 'agent.yaml'),
        [
          'tenant: acme',
          'relay: { url: "ws://127.0.0.1:1", secret: { file: missing.secret } }',
          'keys: { dir: keys }',
          'directory: { urls: ["ldaps://127.0.0.1:1"], baseDN: "DC=x,DC=y", bindDN: "CN=svc,DC=x,DC=y", bindPassword: { file: missing-bind.secret } }',
          'smtp: { host: 127.0.0.1, port: 1, from: "it@x.y" }',
          '',
        ].join('\n'),
      );
      const results = await runDoctor({ configPath: join(dir, 'agent.yaml'), timeoutMs: 1000 });
      const by = Object.fromEntries(results.map((r) => [r.check, r]));
      assert.equal(by['config']?.ok, false);
      assert.match(by['config']?.detail ?? '', /directory\.bindPassword: cannot read .*missing-bind\.secret \(ENOENT\)/);
      assert.match(by['config']?.detail ?? '', /relay\.secret: cannot read/);
      assert.deepEqual([by['directory']?.level, by['directory']?.ok], ['skip', false]);
      assert.deepEqual([by['relay']?.level, by['relay']?.ok], ['skip', false]);
      assert.equal(by['smtp']?.level, 'fail'); // it could still be checked: nothing listens on port 1
      assert.equal(doctorExitCode(results), 1);
    });
  });
});
