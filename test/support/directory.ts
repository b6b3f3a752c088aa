/**
 * A real, throwaway Active Directory for tests: a Samba AD DC provisioned into a fresh temp
 * folder, listening on 127.0.0.1 (ports 88, 389, 636; one test DC at a time), seeded with users
 * in every state the product cares about.
 *
 *   const dir = await startTestDirectory();          // or sharedDirectory() from ./hooks.ts
 *   const u = await dir.createUser('t-reset-1', { state: 'locked' });
 *   ...
 *   expect(await dir.kinit(u.sam, newPassword)).to.deep.equal({ ok: true });
 *   await dir.stop();
 *
 * Domain: realm UNLATCH.TEST, base DN DC=unlatch,DC=test, DC dc1.unlatch.test (the name is not
 * in DNS; connect to 127.0.0.1 — the certificate carries IP:127.0.0.1 as well).
 * Policy: complexity on, min length 8, history 24, min age 0, max age 42 days, lockout after 3
 * bad passwords for 30 min (reset after 30 min). A fine-grained policy (PSO "Unlatch Fine
 * Grained": min length 10, history 5, lockout threshold 5, max age 90 d) applies to members of
 * "Unlatch PSO Users" (createUser(..., { pso: true })).
 * Layout: people in OU=People; groups in OU=Groups ("Unlatch Users" is the scope group, "Unlatch
 * Users Nested" is a member of it); svc-unlatch / svc-nolockout in OU=Service Accounts. The
 * service accounts are not admins: they are delegated on OU=People only (see
 * samba/seed-structure.py for the exact ACEs).
 *
 * How each state is made real (and checked with a real bind when the user is created):
 *   normal       plain account                                       bind ok
 *   must_change  pwdLastSet = 0                                      bind `data 773`
 *   expired      pwdLastSet moved 200 days back (max age 42 d, PSO 90 d) bind `data 532`
 *                — see samba/backdate-password.py for why a PSO with a tiny maximum age cannot
 *                  do it (Samba, like AD, ignores maximum ages of a day or less)
 *   locked       as many bad LDAP binds as the lockout threshold     bind `data 775`
 *   disabled     userAccountControl ACCOUNTDISABLE                   bind `data 533`
 *   protected    adminCount = 1 (as AdminSDHolder leaves it)         bind ok
 */
import { Attribute, Change, Client, EqualityFilter } from 'ldapts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kinit as runKinit, type KinitResult } from './samba/kerberos.ts';
import { randomPassword, randomSuffix } from './samba/passwords.ts';
import { assertPortsFree, claimSlot, releaseSlot, startSamba, waitForLdaps, type RunningSamba } from './samba/server.ts';
import { DC_FQDN, DNS_DOMAIN, instantiateDomain, LISTEN_ADDRESS } from './samba/template.ts';
import { run, sambaTools } from './samba/tools.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BACKDATE_SCRIPT = path.join(HERE, 'samba', 'backdate-password.py');

/** The states createUser can put an account in. */
export type UserState = 'normal' | 'must_change' | 'expired' | 'locked' | 'disabled' | 'protected';

/** A user that exists in the test directory. `password` is the one it was created with. */
export interface SeedUser {
  sam: string;
  dn: string;
  upn: string;
  mail?: string;
  mobile?: string;
  password: string;
  state: UserState;
  /** true: direct member of the scope group; 'nested': via "Unlatch Users Nested"; false: not in scope. */
  inScope: boolean | 'nested';
  /** Member of "Unlatch PSO Users" (fine-grained policy applies). */
  pso: boolean;
}

export interface CreateUserOptions {
  /** Default 'normal'. */
  state?: UserState;
  /** Default `<name>@corp.example`; null for no mail attribute. */
  mail?: string | null;
  /** Default none. */
  mobile?: string;
  telephoneNumber?: string;
  otherMailbox?: string[];
  /** Default true (direct member of "Unlatch Users"); 'nested' via the nested group. */
  inScope?: boolean | 'nested';
  /** Put the user in "Unlatch PSO Users" (fine-grained policy). Default false. */
  pso?: boolean;
  /** Default: a random strong password. */
  password?: string;
  displayName?: string;
}

export interface ServiceAccount {
  dn: string;
  upn: string;
  password: string;
}

/** Wall-clock milliseconds spent in each start-up phase. */
export interface StartTimings {
  /** true when the provisioned domain came from the template cache (see samba/template.ts). */
  fromCache: boolean;
  /** samba-tool provision + structure seed + certificate (0 when cached). */
  provisionMs: number;
  /** Copying the template / provisioning, i.e. everything before samba starts. */
  prepareMs: number;
  /** From spawning samba to a verified LDAPS handshake. */
  startMs: number;
  /** Creating and verifying the seed users. */
  seedMs: number;
  totalMs: number;
}

export interface TestDirectory {
  /** 'UNLATCH.TEST' */
  realm: string;
  /** 'unlatch.test' */
  dnsDomain: string;
  /** 'DC=unlatch,DC=test' */
  baseDN: string;
  /** 'ldaps://127.0.0.1:636' — the certificate is valid for 127.0.0.1, verify it with caPem. */
  ldapsUrl: string;
  /** The DC's dNSHostName, 'dc1.unlatch.test' (not resolvable; also in the certificate). */
  dcHostname: string;
  /** PEM of the CA that issued the DC's certificate, so clients verify TLS for real. */
  caPem: string;
  /** Not needed for ldapsUrl (IP SAN); set it to dcHostname to check by name instead. */
  tlsServername?: string;
  admin: { dn: string; password: string };
  /** svc-unlatch: reset/change password, write lockoutTime + pwdLastSet, read, on OU=People. */
  service: ServiceAccount;
  /** svc-nolockout: like svc-unlatch but without write access to lockoutTime. */
  serviceNoLockout: ServiceAccount;
  scopeGroupDN: string;
  /** A group that is a member of the scope group (for nested membership). */
  nestedScopeGroupDN: string;
  /** Members get the fine-grained policy psoDN. */
  psoGroupDN: string;
  psoDN: string;
  /** Where users are created (the delegated OU). */
  peopleDN: string;
  /**
   * Seed users: alice (normal, mail + mobile), bob (must_change), carol (expired), dave (locked),
   * erin (disabled), frank (protected), grace (normal, not in scope), heidi (normal, no mail, no
   * mobile), user1..user6 (normal, with mail) — tests that change state should prefer
   * createUser().
   */
  users: Record<string, SeedUser>;
  /** The domain policy the test DC was given (for assertions). */
  policy: {
    minLength: number;
    complexity: boolean;
    historyLength: number;
    minAgeSeconds: number;
    maxAgeSeconds: number;
    lockoutThreshold: number;
    lockoutDurationSeconds: number;
    lockoutWindowSeconds: number;
  };
  timings: StartTimings;
  /** A fresh unique account name (≤ 20 chars) with the given prefix. */
  uniqueName(prefix?: string): string;
  /** Creates a user in OU=People in the given state, verified with a real bind. */
  createUser(name: string, o?: CreateUserOptions): Promise<SeedUser>;
  /** Real MIT kinit (password via stdin). */
  kinit(principal: string, password: string): Promise<KinitResult>;
  /** All attributes of a user as the admin sees them (plus computed ones), values as strings. */
  readUser(sam: string): Promise<Record<string, string[]>>;
  /** null when an LDAP simple bind succeeds, else the AD `data` code ('52e', '773', '775', ...). */
  bindError(sam: string, password: string): Promise<string | null>;
  /** Admin write on a user: attribute → values (replace), or null to delete the attribute. */
  modifyUser(sam: string, changes: Record<string, string[] | null>): Promise<void>;
  /** Admin unlock (lockoutTime = 0). */
  unlockUser(sam: string): Promise<void>;
  /** Locks the account out with bad binds. */
  lockOut(sam: string): Promise<void>;
  /** Makes the password expired by age (see samba/backdate-password.py). */
  expirePassword(sam: string): Promise<void>;
  /** The domain folder (smb.conf in etc/, sam.ldb in private/). */
  domainDir: string;
  /** A krb5.conf for the realm (kdc = 127.0.0.1). */
  krb5Conf: string;
  /** Stops samba and removes the temp folder. Idempotent. */
  stop(): Promise<void>;
}

const MAIL_DOMAIN = 'corp.example';
const SAM_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$/;
const UAC_NORMAL = 0x200;
const UAC_DISABLED = 0x2;
const EXPECTED_BIND: Record<UserState, string | null> = {
  normal: null,
  protected: null,
  must_change: '773',
  expired: '532',
  locked: '775',
  disabled: '533',
};

const running = new Set<{ killNow(): void; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const r of running) {
      r.killNow();
      releaseSlot(r.dir);
      rmSync(r.dir, { recursive: true, force: true });
    }
  });
}

/** The AD extended error code of a failed bind: "... data 775, v1db1" → '775'. */
export function adBindCode(message: string): string | null {
  const m = /\bdata ([0-9a-f]+)\b/i.exec(message);
  return m?.[1] ? m[1].toLowerCase() : null;
}

function entryToRecord(entry: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'dn') {
      out.dn = [String(v)];
      continue;
    }
    const vals = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('base64') : String(x)));
    if (vals.length) out[k] = vals;
  }
  return out;
}

/**
 * Provisions (or copies from cache), starts and seeds a test DC: about 2 s from the cache,
 * about 10 s when provisioning (first run on a machine, or `cache: false` /
 * UNLATCH_TEST_DC_NO_CACHE=1). Only one test DC runs per machine (ports 88/389/636): a second
 * test run waits for the first one's DC to go away (see samba/server.ts).
 */
export async function startTestDirectory(
  opts: {
    log?: (s: string) => void;
    /** Use the provisioned-domain cache (default true; UNLATCH_TEST_DC_NO_CACHE=1 turns it off). */
    cache?: boolean;
    /** Forward Samba's own output to log. */
    logSamba?: boolean;
    /** How long to wait for another test run's DC to go away (default 120, or UNLATCH_TEST_DC_WAIT_SECONDS). */
    waitSeconds?: number;
    /** Samba ends itself after this long whatever happens (default 4 h; raise it for a long demo). */
    maxRuntimeSeconds?: number;
  } = {},
): Promise<TestDirectory> {
  const log = opts.log ?? (() => {});
  sambaTools(); // fail early, with the install hint, when Samba is missing

  const instanceDir = mkdtempSync(path.join(os.tmpdir(), 'unlatch-dc-'));
  const domainDir = path.join(instanceDir, 'dc');
  const cache = opts.cache ?? process.env.UNLATCH_TEST_DC_NO_CACHE !== '1';
  let samba: RunningSamba | undefined;
  const registry = { killNow: () => samba?.killNow(), dir: instanceDir };
  const cleanup = async () => {
    await samba?.stop();
    running.delete(registry);
    releaseSlot(instanceDir);
    rmSync(instanceDir, { recursive: true, force: true });
  };

  try {
    const waitSeconds = Number(process.env.UNLATCH_TEST_DC_WAIT_SECONDS ?? 120);
    await claimSlot(instanceDir, {
      log,
      waitMs: (opts.waitSeconds ?? (Number.isFinite(waitSeconds) ? waitSeconds : 120)) * 1000,
      ownDirs: new Set([...running].map((r) => r.dir)),
    });
  } catch (err) {
    rmSync(instanceDir, { recursive: true, force: true });
    throw err;
  }
  running.add(registry);
  installExitHook();
  const t0 = performance.now();

  try {
    await assertPortsFree();
    const { meta, fromCache } = await instantiateDomain(domainDir, { cache, log });
    const tPrepared = performance.now();
    const caPem = readFileSync(path.join(domainDir, 'private', 'tls', 'ca.pem'), 'utf8');
    samba = startSamba(domainDir, instanceDir, {
      log: opts.logSamba ? log : undefined,
      ...(opts.maxRuntimeSeconds ? { maxRuntimeSeconds: opts.maxRuntimeSeconds } : {}),
    });
    await waitForLdaps(samba, caPem);
    const tStarted = performance.now();
    log(`test directory: samba ready in ${Math.round(tStarted - tPrepared)} ms (pid ${samba.pid})`);

    const ldapsUrl = `ldaps://${LISTEN_ADDRESS}:636`;
    const newClient = () =>
      new Client({ url: ldapsUrl, tlsOptions: { ca: caPem }, timeout: 15_000, connectTimeout: 5_000 });

    // One admin connection for all support operations, re-opened if it drops.
    let adminClient: Client | undefined;
    let adminBinding: Promise<Client> | undefined;
    const admin = async (): Promise<Client> => {
      if (adminClient?.isConnected) return adminClient;
      adminBinding ??= (async () => {
        const c = newClient();
        await c.bind(meta.adminDN, meta.adminPassword);
        adminClient = c;
        return c;
      })().finally(() => (adminBinding = undefined));
      return adminBinding;
    };

    const dnBySam = new Map<string, string>();
    const created = new Map<string, SeedUser>();
    const findDn = async (sam: string): Promise<string> => {
      const known = dnBySam.get(sam.toLowerCase());
      if (known) return known;
      const r = await (await admin()).search(meta.baseDN, {
        scope: 'sub',
        filter: new EqualityFilter({ attribute: 'sAMAccountName', value: sam }),
        attributes: ['1.1'],
      });
      const dn = r.searchEntries[0]?.dn;
      if (!dn) throw new Error(`test directory: no user ${sam}`);
      dnBySam.set(sam.toLowerCase(), dn);
      return dn;
    };

    const bindDnError = async (dn: string, password: string): Promise<string | null> => {
      const c = newClient();
      try {
        await c.bind(dn, password);
        return null;
      } catch (err) {
        const msg = (err as Error).message;
        return adBindCode(msg) ?? msg;
      } finally {
        await c.unbind().catch(() => {});
      }
    };

    const badBinds = async (dn: string, count: number): Promise<void> => {
      const c = newClient();
      try {
        for (let i = 0; i < count; i++) await c.bind(dn, `Wrong-${randomSuffix(8)}!x`).catch(() => {});
      } finally {
        await c.unbind().catch(() => {});
      }
    };

    /**
     * Starts samba/backdate-password.py at once (Python starts and opens the database while
     * the LDAP work goes on) and returns the function that hands it the DNs and waits for it.
     * The function must be called (with [] when there is nothing to do).
     */
    const startBackdate = () => {
      let give: (text: string) => void = () => {};
      const input = new Promise<string>((resolve) => (give = resolve));
      const pending = run(sambaTools().python, [BACKDATE_SCRIPT, path.join(domainDir, 'etc', 'smb.conf')], { input });
      return async (dns: string[]): Promise<void> => {
        give(JSON.stringify({ dns, days: 200 }));
        const r = await pending;
        if (r.code !== 0) throw new Error(`test directory: backdating pwdLastSet failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
      };
    };

    const replace = (type: string, values: string[]) =>
      new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

    const addUser = async (c: Client, sam: string, o: CreateUserOptions): Promise<SeedUser> => {
      if (!SAM_RE.test(sam)) throw new Error(`test directory: bad account name ${JSON.stringify(sam)} (max 20 chars)`);
      const state = o.state ?? 'normal';
      const password = o.password ?? randomPassword(20, sam);
      const dn = `CN=${sam},${meta.peopleDN}`;
      const upn = `${sam}@${DNS_DOMAIN}`;
      const mail = o.mail === null ? undefined : (o.mail ?? `${sam}@${MAIL_DOMAIN}`);
      const attrs: Record<string, string[]> = {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn: [sam],
        sAMAccountName: [sam],
        userPrincipalName: [upn],
        givenName: [sam],
        sn: ['Test'],
        displayName: [o.displayName ?? `${sam} Test`],
        userAccountControl: [String(UAC_NORMAL | (state === 'disabled' ? UAC_DISABLED : 0))],
      };
      if (mail) attrs.mail = [mail];
      if (o.mobile) attrs.mobile = [o.mobile];
      if (o.telephoneNumber) attrs.telephoneNumber = [o.telephoneNumber];
      if (o.otherMailbox?.length) attrs.otherMailbox = o.otherMailbox;
      if (state === 'protected') attrs.adminCount = ['1'];
      await c.add(dn, [
        ...Object.entries(attrs).map(([type, values]) => new Attribute({ type, values })),
        new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] }),
      ]);
      dnBySam.set(sam.toLowerCase(), dn);
      const user: SeedUser = {
        sam,
        dn,
        upn,
        ...(mail ? { mail } : {}),
        ...(o.mobile ? { mobile: o.mobile } : {}),
        password,
        state,
        inScope: o.inScope ?? true,
        pso: o.pso ?? false,
      };
      created.set(sam.toLowerCase(), user);
      return user;
    };

    const addMembers = async (c: Client, groupDN: string, members: SeedUser[]) => {
      if (!members.length) return;
      await c.modify(
        groupDN,
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: members.map((u) => u.dn) }) }),
      );
    };

    /** Proves every state with a real bind (a correct password never adds to badPwdCount). */
    const verifyStates = async (users: SeedUser[]) => {
      // One connection, binds in sequence: much quicker than a TLS handshake per user.
      const verifier = newClient();
      try {
        for (const u of users) {
          let got: string | null = null;
          try {
            await verifier.bind(u.dn, u.password);
          } catch (err) {
            got = adBindCode((err as Error).message) ?? (err as Error).message;
          }
          if (got !== EXPECTED_BIND[u.state]) {
            throw new Error(`test directory: ${u.sam} should be ${u.state} (bind ${EXPECTED_BIND[u.state] ?? 'ok'}) but bind gave ${got ?? 'ok'}`);
          }
        }
      } finally {
        await verifier.unbind().catch(() => {});
      }
    };

    const createUsers = async (specs: Array<[string, CreateUserOptions]>): Promise<SeedUser[]> => {
      const tt = performance.now();
      const lap = (what: string) => {
        if (specs.length > 1) log(`test directory: seeding: ${what} after ${Math.round(performance.now() - tt)} ms`);
      };
      const c = await admin();
      // Python starts while the users are added (it only needs their DNs at the end).
      const backdate = specs.some(([, o]) => o.state === 'expired') ? startBackdate() : async () => {};
      const users: SeedUser[] = [];
      try {
        for (const [sam, o] of specs) users.push(await addUser(c, sam, o));
        lap('added');
        await addMembers(c, meta.scopeGroupDN, users.filter((u) => u.inScope === true));
        await addMembers(c, meta.nestedScopeGroupDN, users.filter((u) => u.inScope === 'nested'));
        await addMembers(c, meta.psoGroupDN, users.filter((u) => u.pso));
        for (const u of users.filter((x) => x.state === 'must_change')) await c.modify(u.dn, replace('pwdLastSet', ['0']));
        lap('groups');
        await Promise.all([
          backdate(users.filter((u) => u.state === 'expired').map((u) => u.dn)),
          ...users.filter((u) => u.state === 'locked').map((u) => badBinds(u.dn, u.pso ? 5 : 3)),
        ]);
      } finally {
        await backdate([]).catch(() => {}); // a no-op when already done; never leaves Python waiting
      }
      lap('states');
      await verifyStates(users);
      lap('verified');
      return users;
    };

    const seeds: Array<[string, CreateUserOptions]> = [
      ['alice', { mobile: '+15555550101' }],
      ['bob', { state: 'must_change' }],
      ['carol', { state: 'expired' }],
      ['dave', { state: 'locked' }],
      ['erin', { state: 'disabled' }],
      ['frank', { state: 'protected' }],
      ['grace', { inScope: false }],
      ['heidi', { mail: null }],
      ...[1, 2, 3, 4, 5, 6].map((i): [string, CreateUserOptions] => [`user${i}`, {}]),
    ];
    const seeded = await createUsers(seeds);
    const users = Object.fromEntries(seeded.map((u) => [u.sam, u]));
    const tSeeded = performance.now();

    let nameCounter = 0;
    let stopped: Promise<void> | undefined;
    const krb5Conf = path.join(domainDir, 'krb5.conf');
    const timings: StartTimings = {
      fromCache,
      provisionMs: fromCache ? 0 : meta.provisionMs,
      prepareMs: Math.round(tPrepared - t0),
      startMs: Math.round(tStarted - tPrepared),
      seedMs: Math.round(tSeeded - tStarted),
      totalMs: Math.round(tSeeded - t0),
    };
    log(`test directory: ready in ${timings.totalMs} ms ${JSON.stringify(timings)}`);

    const dir: TestDirectory = {
      realm: meta.realm,
      dnsDomain: DNS_DOMAIN,
      baseDN: meta.baseDN,
      ldapsUrl,
      dcHostname: DC_FQDN,
      caPem,
      admin: { dn: meta.adminDN, password: meta.adminPassword },
      service: { dn: meta.service.dn, upn: meta.service.upn, password: meta.service.password },
      serviceNoLockout: {
        dn: meta.serviceNoLockout.dn,
        upn: meta.serviceNoLockout.upn,
        password: meta.serviceNoLockout.password,
      },
      scopeGroupDN: meta.scopeGroupDN,
      nestedScopeGroupDN: meta.nestedScopeGroupDN,
      psoGroupDN: meta.psoGroupDN,
      psoDN: meta.psoDN,
      peopleDN: meta.peopleDN,
      users,
      policy: {
        minLength: 8,
        complexity: true,
        historyLength: 24,
        minAgeSeconds: 0,
        maxAgeSeconds: 42 * 86400,
        lockoutThreshold: 3,
        lockoutDurationSeconds: 1800,
        lockoutWindowSeconds: 1800,
      },
      timings,
      domainDir,
      krb5Conf,
      uniqueName(prefix = 'u') {
        const p = prefix.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 10) || 'u';
        return `${p}${(++nameCounter).toString(36)}${randomSuffix(2)}`.slice(0, 20);
      },
      async createUser(name, o = {}) {
        const [u] = await createUsers([[name, o]]);
        return u!;
      },
      kinit(principal, password) {
        return runKinit(instanceDir, krb5Conf, meta.realm, principal, password);
      },
      async readUser(sam) {
        const dn = await findDn(sam);
        const r = await (await admin()).search(dn, {
          scope: 'base',
          attributes: [
            '*',
            'msDS-User-Account-Control-Computed',
            'msDS-UserPasswordExpiryTimeComputed',
            'msDS-ResultantPSO',
          ],
        });
        const e = r.searchEntries[0];
        if (!e) throw new Error(`test directory: no user ${sam}`);
        return entryToRecord(e);
      },
      async bindError(sam, password) {
        return bindDnError(await findDn(sam), password);
      },
      async modifyUser(sam, changes) {
        const dn = await findDn(sam);
        await (await admin()).modify(
          dn,
          Object.entries(changes).map(([type, values]) =>
            values === null
              ? new Change({ operation: 'delete', modification: new Attribute({ type, values: [] }) })
              : replace(type, values),
          ),
        );
      },
      async unlockUser(sam) {
        await (await admin()).modify(await findDn(sam), replace('lockoutTime', ['0']));
      },
      async lockOut(sam) {
        await badBinds(await findDn(sam), created.get(sam.toLowerCase())?.pso ? 5 : 3);
      },
      async expirePassword(sam) {
        await startBackdate()([await findDn(sam)]);
      },
      stop() {
        stopped ??= (async () => {
          await adminClient?.unbind().catch(() => {});
          await cleanup();
        })();
        return stopped;
      },
    };
    return dir;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
