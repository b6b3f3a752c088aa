/**
 * agent/directory against a real Samba AD DC. Outcomes are checked with kinit (the KDC is the
 * authority on what a password is) and with the DC's own attributes, read as admin.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Attribute, Change, Client } from 'ldapts';
import { Directory, DirectoryError, type DirectoryConfig, type DirectoryUser } from '../../agent/directory/index.ts';
import { POLICY_HINTS_DEPRECATED_OID, POLICY_HINTS_OID } from '../../agent/directory/password.ts';
import type { SeedUser, TestDirectory } from '../support/directory.ts';
import { sharedDirectory } from '../support/hooks.ts';
import { randomPassword } from '../support/samba/passwords.ts';

async function rejects(p: Promise<unknown>, code: string, reason?: string): Promise<DirectoryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DirectoryError, `expected DirectoryError, got ${String(err)}`);
    assert.equal(err.code, code, `code (detail: ${err.detail})`);
    if (reason) assert.equal(err.reason, reason, `reason (detail: ${err.detail})`);
    assert.equal(err.name, 'DirectoryError');
    return err;
  }
  assert.fail(`expected ${code}${reason ? `/${reason}` : ''}, but it succeeded`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('directory: agent/directory against a real AD DC (Samba)', function () {
  this.timeout(60_000);
  let dir: TestDirectory;
  let directory: Directory;
  const opened: Directory[] = [];

  const config = (over: Partial<DirectoryConfig> = {}): DirectoryConfig => ({
    urls: [dir.ldapsUrl],
    baseDN: dir.baseDN,
    bindDN: dir.service.dn,
    bindPassword: dir.service.password,
    caPem: dir.caPem,
    scopeGroupDN: dir.scopeGroupDN,
    timeoutMs: 5000,
    ...over,
  });
  const open = (over: Partial<DirectoryConfig> = {}): Directory => {
    const d = new Directory(config(over));
    opened.push(d);
    return d;
  };
  const fresh = (prefix: string, o: Parameters<TestDirectory['createUser']>[1] = {}) => dir.createUser(dir.uniqueName(prefix), o);
  const find = async (sam: string, d = directory): Promise<DirectoryUser> => {
    const u = await d.findUser(sam);
    assert.ok(u, `${sam} should be found`);
    return u;
  };
  const kinitOk = async (u: SeedUser, password: string) => assert.deepEqual(await dir.kinit(u.upn, password), { ok: true });
  const kinitFails = async (u: SeedUser, password: string, error = 'Password incorrect') =>
    assert.deepEqual(await dir.kinit(u.upn, password), { ok: false, error });

  before(async function () {
    this.timeout(180_000);
    dir = await sharedDirectory();
    directory = open();
  });
  after(async () => {
    await Promise.all(opened.map((d) => d.close()));
  });

  describe('the test directory itself', () => {
    it('seeds users whose states are real for both LDAP and Kerberos', async () => {
      const u = dir.users;
      assert.equal(await dir.bindError('alice', u.alice!.password), null);
      assert.equal(await dir.bindError('bob', u.bob!.password), '773');
      assert.equal(await dir.bindError('carol', u.carol!.password), '532');
      assert.equal(await dir.bindError('dave', u.dave!.password), '775');
      assert.equal(await dir.bindError('erin', u.erin!.password), '533');
      const x = await fresh('seedchk');
      assert.equal(await dir.bindError(x.sam, 'not-the-password'), '52e');
      await kinitOk(u.alice!, u.alice!.password);
      await kinitFails(u.bob!, u.bob!.password, 'Password has expired');
      await kinitFails(u.carol!, u.carol!.password, 'Password has expired');
      await kinitFails(u.dave!, u.dave!.password, "Client's credentials have been revoked");
      await kinitFails(u.erin!, u.erin!.password, "Client's credentials have been revoked");
      assert.equal(u.alice!.mail, 'alice@corp.example');
      assert.equal(u.alice!.mobile, '+15555550101');
      assert.equal(u.heidi!.mail, undefined);
      assert.deepEqual(Object.keys(u).filter((k) => /^user\d$/.test(k)).length, 6);
      assert.ok(dir.timings.totalMs > 0);
    });
  });

  describe('findUser', () => {
    it('finds the same person by sAMAccountName, userPrincipalName, mail and DOMAIN\\sam', async () => {
      const bySam = await find('alice');
      assert.equal(bySam.dn, dir.users.alice!.dn);
      assert.equal(bySam.sam, 'alice');
      assert.equal(bySam.upn, 'alice@unlatch.test');
      assert.deepEqual(bySam.mail, ['alice@corp.example']);
      assert.equal(bySam.mobile, '+15555550101');
      assert.equal(bySam.inScope, true);
      assert.equal(bySam.protected, false);
      assert.equal(bySam.disabled, false);
      assert.equal(bySam.locked, false);
      for (const id of ['alice@unlatch.test', 'ALICE@corp.example', 'UNLATCH\\alice', '  alice  ']) {
        assert.equal((await find(id)).dn, bySam.dn, id);
      }
    });

    it('treats filter syntax in the identifier as plain text', async () => {
      for (const id of ['*)(sAMAccountName=*', '*', 'alice)(|(mail=*', '*)(objectClass=*))(|(cn=*', 'al*', '\\2a', '', ' ', 'a\u0000b']) {
        assert.equal(await directory.findUser(id), null, JSON.stringify(id));
      }
    });

    it('flags out-of-scope, protected, disabled, locked, must-change and expired users', async () => {
      assert.equal((await find('grace')).inScope, false);
      assert.equal((await find('frank')).protected, true);
      assert.equal((await find('frank')).adminCount, 1);
      assert.equal((await find('erin')).disabled, true);
      const dave = await find('dave');
      assert.equal(dave.locked, true);
      assert.ok(dave.lockoutTime instanceof Date);
      const bob = await find('bob');
      assert.equal(bob.mustChange, true);
      assert.equal(bob.pwdLastSet, null);
      assert.equal((await find('carol')).passwordExpired, true);
      const heidi = await find('heidi');
      assert.deepEqual(heidi.mail, []);
      assert.equal(heidi.mobile, undefined);
    });

    it('counts nested membership of the scope group, and everyone when no scope group is set', async () => {
      const nested = await fresh('nest', { inScope: 'nested' });
      assert.equal((await find(nested.sam)).inScope, true);
      const unscoped = open({ scopeGroupDN: undefined });
      assert.equal((await find('grace', unscoped)).inScope, true);
    });

    it('treats two matches as not found, and says so through lookup()', async () => {
      const a = await fresh('amb');
      await fresh('amb', { mail: a.upn }); // someone's mail is a's UPN
      assert.equal(await directory.findUser(a.upn), null);
      assert.deepEqual(await directory.lookup(a.upn), { status: 'ambiguous', count: 2 });
      assert.equal((await directory.lookup(a.sam)).status, 'found');
      assert.deepEqual(await directory.lookup('nobody-by-this-name'), { status: 'not_found' });
    });
  });

  describe('reset', () => {
    it('sets the password of a locked user, unlocks it and resets badPwdCount, in one write', async () => {
      const u = await fresh('rlock', { state: 'locked' });
      const before = await dir.readUser(u.sam);
      assert.notEqual(before.lockoutTime?.[0] ?? '0', '0');
      assert.equal(before.badPwdCount?.[0], '3');
      const pw = randomPassword();
      const result = await directory.reset(await find(u.sam), pw);
      assert.equal(result.dc, dir.ldapsUrl);
      assert.equal(result.pdc, true);
      assert.equal(result.control, undefined, 'Samba 4.17 advertises no policy-hints control');
      const after = await dir.readUser(u.sam);
      assert.equal(after.lockoutTime?.[0], '0');
      assert.equal(after.badPwdCount?.[0], '0');
      await kinitOk(u, pw);
      await kinitFails(u, u.password);
    });

    it('clears "must change at next logon" (kinit works without "Password has expired")', async () => {
      const u = await fresh('rmust', { state: 'must_change' });
      const pw = randomPassword();
      await directory.reset(await find(u.sam), pw);
      assert.notEqual((await dir.readUser(u.sam)).pwdLastSet?.[0], '0');
      await kinitOk(u, pw);
      assert.equal((await find(u.sam)).mustChange, false);
    });

    it('renews an expired password', async () => {
      const u = await fresh('rexp', { state: 'expired' });
      assert.equal((await find(u.sam)).passwordExpired, true);
      const pw = randomPassword();
      await directory.reset(await find(u.sam), pw);
      await kinitOk(u, pw);
      assert.equal((await find(u.sam)).passwordExpired, false);
    });

    it('refuses a policy violation atomically: the account stays locked with its old password', async () => {
      const u = await fresh('rshort', { state: 'locked' });
      const before = await dir.readUser(u.sam);
      const err = await rejects(directory.reset(await find(u.sam), 'Ab1!'), 'POLICY_VIOLATION', 'too_short');
      assert.ok(!err.detail.includes('Ab1!'));
      const after = await dir.readUser(u.sam);
      assert.equal(after.lockoutTime?.[0], before.lockoutTime?.[0], 'still locked');
      assert.equal(after.pwdLastSet?.[0], before.pwdLastSet?.[0], 'password untouched');
      await rejects(directory.reset(await find(u.sam), 'onlylowercaseletters'), 'POLICY_VIOLATION', 'complexity');
      await dir.unlockUser(u.sam);
      await kinitOk(u, u.password);
    });

    it("enforces the user's fine-grained policy (PSO: min length 10)", async () => {
      const u = await fresh('rpso', { pso: true });
      await rejects(directory.reset(await find(u.sam), 'Abcdef1!x'), 'POLICY_VIOLATION', 'too_short');
      const pw = randomPassword(12);
      await directory.reset(await find(u.sam), pw);
      await kinitOk(u, pw);
    });

    it('refuses a protected account with USER_PROTECTED and writes nothing', async () => {
      const frank = dir.users.frank!;
      const before = await dir.readUser('frank');
      const user = await find('frank');
      await rejects(directory.reset(user, randomPassword()), 'USER_PROTECTED');
      await rejects(directory.unlock(user), 'USER_PROTECTED');
      await rejects(directory.change(user, frank.password, randomPassword()), 'USER_PROTECTED');
      assert.equal((await dir.readUser('frank')).pwdLastSet?.[0], before.pwdLastSet?.[0]);
      await kinitOk(frank, frank.password);
    });

    it('refuses a disabled account with ACCOUNT_DISABLED and writes nothing', async () => {
      const before = await dir.readUser('erin');
      await rejects(directory.reset(await find('erin'), randomPassword()), 'ACCOUNT_DISABLED');
      assert.equal((await dir.readUser('erin')).pwdLastSet?.[0], before.pwdLastSet?.[0]);
    });

    it('refuses a user outside the scope group', async () => {
      const before = await dir.readUser('grace');
      const err = await rejects(directory.reset(await find('grace'), randomPassword()), 'USER_NOT_FOUND');
      assert.match(err.detail, /scope/);
      assert.equal((await dir.readUser('grace')).pwdLastSet?.[0], before.pwdLastSet?.[0]);
    });

    it('re-checks the account before writing: a user made protected meanwhile is refused', async () => {
      const u = await fresh('rstale');
      const user = await find(u.sam);
      await dir.modifyUser(u.sam, { adminCount: ['1'] });
      await rejects(directory.reset(user, randomPassword()), 'USER_PROTECTED');
      await kinitOk(u, u.password);
    });

    it('without write access to lockoutTime: ACCESS_DENIED and nothing half-written', async () => {
      const limited = open({ bindDN: dir.serviceNoLockout.dn, bindPassword: dir.serviceNoLockout.password });
      const u = await fresh('rnolock', { state: 'locked' });
      const before = await dir.readUser(u.sam);
      const pw = randomPassword();
      const err = await rejects(limited.reset(await find(u.sam, limited), pw), 'ACCESS_DENIED');
      assert.ok(!err.detail.includes(pw) && !err.detail.includes(dir.serviceNoLockout.password));
      const after = await dir.readUser(u.sam);
      assert.equal(after.lockoutTime?.[0], before.lockoutTime?.[0], 'still locked');
      assert.equal(after.pwdLastSet?.[0], before.pwdLastSet?.[0], 'password not set');
      await dir.unlockUser(u.sam);
      await kinitOk(u, u.password);
      await kinitFails(u, pw);
      await rejects(limited.unlock(await find(u.sam, limited)), 'ACCESS_DENIED');
    });

    it('costs about one bare unicodePwd replace (same connection, same DC)', async function () {
      this.timeout(120_000);
      const users = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(() => fresh('bench')));
      const raw = new Client({ url: dir.ldapsUrl, tlsOptions: { ca: dir.caPem }, timeout: 10_000 });
      await raw.bind(dir.service.dn, dir.service.password);
      const found = await Promise.all(users.map((u) => find(u.sam)));
      await directory.reset(found[0]!, randomPassword()); // warm the connection and caches
      await raw.modify(users[0]!.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${randomPassword()}"`, 'utf16le')] }) }));
      const bare: number[] = [];
      const full: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const [i, u] of users.entries()) {
          let t = performance.now();
          await raw.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${randomPassword()}"`, 'utf16le')] }) }));
          bare.push(performance.now() - t);
          t = performance.now();
          await directory.reset(found[i]!, randomPassword());
          full.push(performance.now() - t);
        }
      }
      await raw.unbind();
      const ratio = median(full) / median(bare);
      console.log(`      reset (guard read + 3-change modify) median ${median(full).toFixed(1)} ms vs bare unicodePwd replace ${median(bare).toFixed(1)} ms: ×${ratio.toFixed(2)}`);
      assert.ok(ratio < 2.5, `a full reset should cost about one bare replace, got ×${ratio.toFixed(2)}`);
    });
  });

  describe('change', () => {
    it('changes with the correct old password', async () => {
      const u = await fresh('cok');
      const pw = randomPassword();
      const r = await directory.change(await find(u.sam), u.password, pw);
      assert.equal(r.pdc, true);
      await kinitOk(u, pw);
      await kinitFails(u, u.password);
    });

    it('lets an expired or must-change user change with the old password', async () => {
      for (const state of ['expired', 'must_change'] as const) {
        const u = await fresh('cexp', { state });
        const pw = randomPassword();
        await directory.change(await find(u.sam), u.password, pw);
        await kinitOk(u, pw);
      }
    });

    it('refuses history, too short, no complexity and a wrong old password; the directory is unchanged', async () => {
      const u = await fresh('crules');
      const second = randomPassword();
      await directory.change(await find(u.sam), u.password, second);
      const user = await find(u.sam);
      const stamp = (await dir.readUser(u.sam)).pwdLastSet?.[0];

      const cases: Array<[string, string, string, string | undefined]> = [
        [second, u.password, 'POLICY_VIOLATION', 'history'],
        [second, 'Ab1!x', 'POLICY_VIOLATION', 'too_short'],
        [second, 'alllowercaseletters', 'POLICY_VIOLATION', 'complexity'],
        ['Wrong-Old-Password-1', randomPassword(), 'INVALID_CREDENTIALS', undefined],
      ];
      for (const [oldPw, newPw, code, reason] of cases) {
        const err = await rejects(directory.change(user, oldPw, newPw), code, reason);
        assert.ok(!err.detail.includes(oldPw) && !err.detail.includes(newPw), 'no password in the detail');
        assert.equal((await dir.readUser(u.sam)).pwdLastSet?.[0], stamp, `${code}/${reason}: password unchanged`);
        await kinitOk(u, second);
      }
    });

    it('refuses a change on a locked-out account with ACCOUNT_LOCKED; nothing is written', async () => {
      const u = await fresh('clock', { state: 'locked' });
      const before = await dir.readUser(u.sam);
      await rejects(directory.change(await find(u.sam), u.password, randomPassword()), 'ACCOUNT_LOCKED');
      assert.equal((await dir.readUser(u.sam)).pwdLastSet?.[0], before.pwdLastSet?.[0]);
      await dir.unlockUser(u.sam);
      await kinitOk(u, u.password);
    });

    it('explains the PSO rules too (history 5, min length 10)', async () => {
      const u = await fresh('cpso', { pso: true });
      const user = await find(u.sam);
      await rejects(directory.change(user, u.password, 'Abcdef1!x'), 'POLICY_VIOLATION', 'too_short');
      await kinitOk(u, u.password);
    });
  });

  describe('unlock', () => {
    it('sets lockoutTime to 0 and leaves the password as it was', async () => {
      const u = await fresh('ulock', { state: 'locked' });
      const before = await dir.readUser(u.sam);
      await directory.unlock(await find(u.sam));
      const after = await dir.readUser(u.sam);
      assert.equal(after.lockoutTime?.[0], '0');
      assert.equal(after.badPwdCount?.[0], '0');
      assert.equal(after.pwdLastSet?.[0], before.pwdLastSet?.[0]);
      await kinitOk(u, u.password);
      assert.equal((await find(u.sam)).locked, false);
    });
  });

  describe('verifyPassword', () => {
    it('is true for the right password, including expired and must-change accounts; false otherwise', async () => {
      const u = dir.users;
      assert.equal(await directory.verifyPassword(await find('alice'), u.alice!.password), true);
      assert.equal(await directory.verifyPassword(await find('bob'), u.bob!.password), true);
      assert.equal(await directory.verifyPassword(await find('carol'), u.carol!.password), true);
      assert.equal(await directory.verifyPassword(await find('erin'), u.erin!.password), true);
      assert.equal(await directory.verifyPassword(await find('dave'), u.dave!.password), false, 'locked out');
      // AD says "disabled" / "must change" / "expired" only to the right password.
      for (const state of ['disabled', 'must_change', 'expired'] as const) {
        const v = await fresh('vstate', { state });
        assert.equal(await directory.verifyPassword(await find(v.sam), 'Not-The-Password-1'), false, state);
        assert.equal(await directory.verifyPassword(await find(v.sam), v.password), true, state);
      }
      assert.equal(await directory.verifyPassword(await find('alice'), ''), false);
      const x = await fresh('vwrong');
      assert.equal(await directory.verifyPassword(await find(x.sam), 'not-the-password'), false);
      assert.equal((await dir.readUser(x.sam)).badPwdCount?.[0], '1', 'a wrong password counts');
    });
  });

  describe('policy', () => {
    it('reads the domain policy the DC was given', async () => {
      const p = await directory.policyFor(null);
      assert.deepEqual(p, {
        minLength: 8,
        complexity: true,
        historyLength: 24,
        minAgeSeconds: 0,
        maxAgeSeconds: 42 * 86400,
        lockoutThreshold: 3,
        lockoutDurationSeconds: 1800,
        lockoutWindowSeconds: 1800,
        source: 'domain',
      });
      assert.deepEqual(await directory.policyFor(await find('alice')), p);
      const d = dir.policy;
      assert.deepEqual(
        [p.minLength, p.complexity, p.historyLength, p.minAgeSeconds, p.maxAgeSeconds, p.lockoutThreshold],
        [d.minLength, d.complexity, d.historyLength, d.minAgeSeconds, d.maxAgeSeconds, d.lockoutThreshold],
      );
    });

    it("reads a fine-grained policy (msDS-ResultantPSO) for the users it applies to", async () => {
      const u = await fresh('ppso', { pso: true });
      const p = await directory.policyFor(await find(u.sam));
      assert.equal(p.source, 'pso');
      assert.equal(p.psoDN, dir.psoDN);
      assert.equal(p.minLength, 10);
      assert.equal(p.historyLength, 5);
      assert.equal(p.lockoutThreshold, 5);
      assert.equal(p.maxAgeSeconds, 90 * 86400);
    });
  });

  describe('domain controllers', () => {
    it('reports the chosen DC: the PDC emulator, and which policy-hints controls it has', async () => {
      const dse = await directory.rootDse();
      assert.equal(dse.isPdc, true);
      assert.equal(dse.url, dir.ldapsUrl);
      assert.equal(dse.dnsHostName?.toLowerCase(), dir.dcHostname);
      assert.equal(dse.pdcHostName?.toLowerCase(), dir.dcHostname);
      assert.ok(dse.supportedControl.includes('1.2.840.113556.1.4.319'), 'paged results');
      assert.ok(!dse.supportedControl.includes(POLICY_HINTS_OID) && !dse.supportedControl.includes(POLICY_HINTS_DEPRECATED_OID));
    });

    it('skips a configured DC that does not answer and uses the next', async () => {
      const d = open({ urls: ['ldaps://127.0.0.1:1', dir.ldapsUrl] });
      assert.equal((await find('alice', d)).sam, 'alice');
      assert.equal((await d.rootDse()).url, dir.ldapsUrl);
    });

    it('verifies the certificate by name when told to (tlsServername)', async () => {
      const d = open({ tlsServername: dir.dcHostname });
      assert.equal((await find('alice', d)).sam, 'alice');
      const wrong = open({ tlsServername: 'not-the-dc.unlatch.test' });
      const err = await rejects(wrong.findUser('alice'), 'DIRECTORY_UNAVAILABLE');
      assert.match(err.detail, /TLS|certificate|altnames/i);
    });

    it('re-opens the shared connection after it sat idle', async () => {
      const events: string[] = [];
      const d = new Directory(config(), { idleMs: 20, log: (m, f) => events.push(`${m} ${JSON.stringify(f)}`) });
      opened.push(d);
      assert.equal((await find('alice', d)).sam, 'alice');
      await new Promise((r) => setTimeout(r, 60));
      assert.equal((await find('user1', d)).sam, 'user1');
      assert.ok(events.some((e) => e.includes('retired') && e.includes('idle')), events.join('\n'));
      assert.equal(events.filter((e) => e.startsWith('directory: using DC')).length, 2);
      assert.ok(events.every((e) => !e.includes(dir.service.password)));
    });

    it('reconnects when the shared connection drops', async () => {
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((client) => {
        const upstream = net.connect(636, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      try {
        const port = (proxy.address() as net.AddressInfo).port;
        const d = open({ urls: [`ldaps://127.0.0.1:${port}`] });
        assert.equal((await find('alice', d)).sam, 'alice');
        for (const s of sockets) s.destroy(); // the network drops every connection
        sockets.clear();
        assert.equal((await find('user1', d)).sam, 'user1');
        const u = await fresh('rdrop', { state: 'locked' });
        for (const s of sockets) s.destroy();
        const pw = randomPassword();
        await d.reset(await find(u.sam, d), pw);
        await kinitOk(u, pw);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => proxy.close(r));
      }
    });
  });

  describe('failures', () => {
    it('an unreachable DC is DIRECTORY_UNAVAILABLE, quickly', async () => {
      const d = open({ urls: ['ldaps://127.0.0.1:1'] });
      const t = performance.now();
      const err = await rejects(d.findUser('alice'), 'DIRECTORY_UNAVAILABLE');
      assert.ok(performance.now() - t < 1000, 'fails fast');
      assert.match(err.detail, /ECONNREFUSED/);
    });

    it('a DC that accepts but never answers is DIRECTORY_UNAVAILABLE after the timeout', async () => {
      const held: net.Socket[] = [];
      const silent = net.createServer((s) => void held.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const d = open({ urls: [`ldaps://127.0.0.1:${port}`], timeoutMs: 300 });
        const t = performance.now();
        await rejects(d.policyFor(null), 'DIRECTORY_UNAVAILABLE');
        assert.ok(performance.now() - t < 3000);
      } finally {
        for (const s of held) s.destroy();
        await new Promise((r) => silent.close(r));
      }
    });

    it('an untrusted certificate is DIRECTORY_UNAVAILABLE with a TLS detail', async () => {
      const d = open({ caPem: undefined });
      const err = await rejects(d.findUser('alice'), 'DIRECTORY_UNAVAILABLE');
      assert.match(err.detail, /TLS/);
    });

    it('a wrong service account password is ACCESS_DENIED (an admin problem), without the password', async () => {
      const d = open({ bindPassword: 'Wrong-Service-Password-1' });
      const err = await rejects(d.findUser('alice'), 'ACCESS_DENIED');
      assert.match(err.detail, /data 52e/);
      assert.ok(!err.detail.includes('Wrong-Service-Password-1'));
    });

    it('refuses plain ldap:// URLs', () => {
      assert.throws(() => new Directory(config({ urls: ['ldap://127.0.0.1:389'] })), /ldaps/);
    });
  });
});
