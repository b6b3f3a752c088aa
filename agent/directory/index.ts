/**
 * The agent's directory: the only door to LDAP for the rest of the agent.
 *
 *   const directory = new Directory({ urls, baseDN, bindDN, bindPassword, caPem, scopeGroupDN });
 *   const user = await directory.findUser('alice@corp.example');      // DirectoryUser | null
 *   const policy = await directory.policyFor(user);                      // rules to show
 *   await directory.reset(user, newPassword);                            // or change / unlock
 *
 * Every failure is a DirectoryError (see errors.ts) with a stable `code`, a `reason` for
 * POLICY_VIOLATION, a message a person can act on and an admin-facing `detail`. Writes refuse
 * protected accounts (USER_PROTECTED), disabled ones (ACCOUNT_DISABLED) and users outside the
 * scope group (USER_NOT_FOUND) after re-reading the user, so a stale DirectoryUser cannot slip
 * through. Passwords are passed to the DC and nowhere else: never logged, never kept.
 */
import type { Client } from 'ldapts';
import { ConnectionPool, type ConnectionSettings, type RootDse } from './connection.ts';
import { DirectoryError, needsPolicyForReason, PASSWORD_CORRECT_BIND_CODES, adDataCode, toDirectoryError, type DirectoryOperation } from './errors.ts';
import { changePassword, resetPassword, unlockAccount } from './password.ts';
import { readDomainPolicy, readPso, type PasswordPolicy } from './policy.ts';
import { lookupUser, readUserByDN, type DirectoryUser, type LookupResult, type ReadOptions } from './users.ts';
import { searchPasswordExpiries, type PasswordExpiry } from './expiry.ts';
import { searchUsersInScope } from './scope.ts';

export { DirectoryError } from './errors.ts';
export type { DirectoryErrorCode, PolicyReason } from './errors.ts';
export type { PasswordPolicy } from './policy.ts';
export type { DirectoryUser, LookupResult } from './users.ts';
export type { RootDse } from './connection.ts';
export type { PasswordExpiry } from './expiry.ts';

export interface DirectoryConfig {
  /** ldaps:// URLs of the DCs, in order of preference (the PDC emulator is preferred anyway). */
  urls: string[];
  /** Where users are searched, e.g. DC=corp,DC=example. */
  baseDN: string;
  /** The service account (a delegated, non-admin account). */
  bindDN: string;
  bindPassword: string;
  /** CA certificate(s) to verify the DCs' certificates; default: Node's trust store. */
  caPem?: string;
  /** Name to check the certificate against when the URLs use IP addresses or aliases. */
  tlsServername?: string;
  /** Only members (nested membership counts) of this group may use self-service. */
  scopeGroupDN?: string;
  /** Members (nested) of these groups are privileged: the stricter gate policy applies. */
  privilegedGroupDNs?: string[];
  /** Attributes to read beyond the standard ones (contact data an admin maps). */
  extraAttributes?: string[];
  /**
   * Make a lookup of nobody cost what a lookup of somebody costs, by reading this user and
   * discarding it. Default: the last person a lookup found (bindDN until then). '' switches it off.
   */
  decoyDN?: string;
  /** Connect and per-operation timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** Default true. false disables certificate checks: for a lab only, never in production. */
  rejectUnauthorized?: boolean;
}

export interface DirectoryOptions {
  /** How long a DC choice is kept before the DCs are asked again who the PDC is (default 60 s). */
  dcCacheMs?: number;
  /** How long policies (domain, PSOs) are cached (default 60 s). */
  policyCacheMs?: number;
  /** Idle time after which the shared connection is re-opened (default 4 min). */
  idleMs?: number;
  now?: () => number;
  /** Operational messages (DC choice, dropped connections); never passwords. */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** What a write did, for the audit log. */
export interface WriteResult {
  /** URL of the DC that took the write. */
  dc: string;
  /** That DC is the PDC emulator. */
  pdc: boolean;
  /** The policy-hints control sent with a reset, if the DC supports one. */
  control?: string;
}

export class Directory {
  private readonly config: Required<Pick<DirectoryConfig, 'baseDN'>> & DirectoryConfig;
  private readonly pool: ConnectionPool;
  private readonly timeoutMs: number;
  private readonly policyCacheMs: number;
  private readonly now: () => number;
  private readonly policyCache = new Map<string, { at: number; value: Promise<PasswordPolicy | null> }>();
  /** The last person a lookup found: an id that matches nobody reads them instead (see decoyDN). */
  private lastFoundDN: string | undefined;

  constructor(config: DirectoryConfig, options: DirectoryOptions = {}) {
    if (!config.baseDN) throw new Error('directory: baseDN is required');
    if (!config.bindDN || !config.bindPassword) throw new Error('directory: bindDN and bindPassword are required');
    this.config = config;
    this.timeoutMs = config.timeoutMs ?? 5000;
    this.policyCacheMs = options.policyCacheMs ?? 60_000;
    this.now = options.now ?? Date.now;
    const settings: ConnectionSettings = {
      urls: config.urls,
      baseDN: config.baseDN,
      bindDN: config.bindDN,
      bindPassword: config.bindPassword,
      caPem: config.caPem,
      tlsServername: config.tlsServername,
      timeoutMs: this.timeoutMs,
      rejectUnauthorized: config.rejectUnauthorized ?? true,
    };
    this.pool = new ConnectionPool(settings, {
      ...(options.dcCacheMs !== undefined ? { dcCacheMs: options.dcCacheMs } : {}),
      ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
      ...(options.log ? { log: options.log } : {}),
      now: this.now,
    });
  }

  /** Finds the one user named by sAMAccountName, userPrincipalName or mail (or DOMAIN\sam). */
  async lookup(id: string): Promise<LookupResult> {
    const result = await this.read('search', (client) =>
      lookupUser(client, this.config.baseDN, id, this.config.scopeGroupDN, Math.max(1, Math.ceil(this.timeoutMs / 1000)), this.readOptions(true)),
    );
    if (result.status === 'found') this.lastFoundDN = result.user.dn;
    return result;
  }

  /** The user, or null when nobody or more than one person matches (see lookup() to tell). */
  async findUser(id: string): Promise<DirectoryUser | null> {
    const r = await this.lookup(id);
    return r.status === 'found' ? r.user : null;
  }

  private readOptions(decoy = false): ReadOptions {
    // An ordinary person costs what an ordinary person costs: the service account lives elsewhere
    // and reads measurably faster, so it is only the fallback until someone has been found.
    const decoyDN = this.config.decoyDN ?? this.lastFoundDN ?? this.config.bindDN;
    return {
      ...(this.config.extraAttributes?.length ? { extraAttributes: this.config.extraAttributes } : {}),
      ...(this.config.privilegedGroupDNs?.length ? { privilegedGroupDNs: this.config.privilegedGroupDNs } : {}),
      ...(decoy && decoyDN ? { decoyDN } : {}),
    };
  }

  /** The user's effective password policy (PSO or domain); the domain's for null. */
  async policyFor(user: DirectoryUser | null): Promise<PasswordPolicy> {
    const domain = await this.cachedPolicy('domain', () => this.read('policy', (c) => readDomainPolicy(c, this.config.baseDN)));
    if (!domain) throw new DirectoryError('INTERNAL', { detail: `policy: the domain object ${this.config.baseDN} is not readable` });
    if (!user) return domain;
    // findUser read msDS-ResultantPSO already; no value means no PSO applies.
    const psoDN = user.psoDN;
    if (!psoDN) return domain;
    const pso = await this.cachedPolicy(`pso:${psoDN.toLowerCase()}`, () => this.read('policy', (c) => readPso(c, psoDN)));
    return pso ?? { ...domain, psoDN, psoUnreadable: true };
  }

  /**
   * Sets a new password (admin-style reset), unlocks and clears "must change", in one modify.
   * With the DC's policy-hints control, history and minimum age apply as on a change.
   */
  async reset(user: DirectoryUser, newPassword: string): Promise<WriteResult> {
    const fresh = await this.guard(user, 'reset');
    let hinted = false;
    return this.write('reset', fresh, { newPassword, secrets: [newPassword], historyEnforced: () => hinted }, async (client, dc) => {
      const r = await resetPassword(client, fresh.dn, newPassword, dc.supportedControl);
      hinted = !!r.control;
      return { dc: dc.url, pdc: dc.isPdc, ...(r.control ? { control: r.control } : {}) };
    });
  }

  /** The user's own change: the DC checks the old password, history, minimum age, complexity. */
  async change(user: DirectoryUser, oldPassword: string, newPassword: string): Promise<WriteResult> {
    const fresh = await this.guard(user, 'change');
    return this.write('change', fresh, { newPassword, secrets: [oldPassword, newPassword] }, async (client, dc) => {
      await changePassword(client, fresh.dn, oldPassword, newPassword);
      return { dc: dc.url, pdc: dc.isPdc };
    });
  }

  /** Unlocks the account (lockoutTime = 0); the password stays as it is. */
  async unlock(user: DirectoryUser): Promise<WriteResult> {
    const fresh = await this.guard(user, 'unlock');
    return this.write('unlock', fresh, {}, async (client, dc) => {
      await unlockAccount(client, fresh.dn);
      return { dc: dc.url, pdc: dc.isPdc };
    });
  }

  /**
   * Checks a password by binding as the user on a separate connection. A wrong password counts
   * as a failed sign-in (badPwdCount, lockout), like any logon. True also when AD refuses the
   * logon for a reason it only gives after the password was right (expired, must change,
   * disabled, ...); false for a wrong password and for a locked-out account (AD does not check
   * the password of a locked account).
   */
  async verifyPassword(user: DirectoryUser, password: string): Promise<boolean> {
    // Never an unauthenticated bind: an empty DN or password would "succeed" without checking.
    if (!password || !user.dn) return false;
    try {
      await this.pool.bindAs(user.dn, password);
      return true;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 49) {
        const data = adDataCode((err as Error).message);
        return data !== undefined && PASSWORD_CORRECT_BIND_CODES.has(data);
      }
      throw toDirectoryError(err, { op: 'verify', secrets: [password] });
    }
  }

  /** The chosen DC's rootDSE facts (host, PDC or not, supported controls). */
  async rootDse(): Promise<RootDse> {
    try {
      return { ...(await this.pool.dc()) };
    } catch (err) {
      throw toDirectoryError(err, { op: 'connect', secrets: [this.config.bindPassword] });
    }
  }

  /**
   * Every in-scope, enabled, unprotected user whose password can expire, with when it does
   * (read-only; see ./expiry.ts). For the password-expiry reminders.
   */
  async passwordExpiries(): Promise<PasswordExpiry[]> {
    // Only used when the DC does not compute msDS-UserPasswordExpiryTimeComputed itself.
    const maxAgeSeconds = async (psoDN: string | undefined): Promise<number> => {
      const domain = await this.policyFor(null);
      if (!psoDN) return domain.maxAgeSeconds;
      const pso = await this.cachedPolicy(`pso:${psoDN.toLowerCase()}`, () => this.read('policy', (c) => readPso(c, psoDN)));
      return (pso ?? domain).maxAgeSeconds;
    };
    return this.read('search', (client) => searchPasswordExpiries(client, this.config.baseDN, this.config.scopeGroupDN, maxAgeSeconds));
  }

  /**
   * Every user account in scope, disabled and protected ones marked (read-only; see ./scope.ts).
   * For the registration coverage of `unlatch-agent report`.
   */
  async usersInScope(): Promise<DirectoryUser[]> {
    return this.read('search', (client) =>
      searchUsersInScope(client, {
        baseDN: this.config.baseDN,
        scopeGroupDN: this.config.scopeGroupDN,
        privilegedGroupDNs: this.config.privilegedGroupDNs,
        extraAttributes: this.config.extraAttributes,
      }),
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** A read on the shared connection (retried once on a fresh connection), errors mapped. */
  private async read<T>(op: DirectoryOperation, fn: (client: Client, dc: RootDse) => Promise<T>): Promise<T> {
    try {
      return await this.pool.run(op, fn, { retry: true });
    } catch (err) {
      throw toDirectoryError(err, { op, secrets: [this.config.bindPassword] });
    }
  }

  private cachedPolicy(key: string, load: () => Promise<PasswordPolicy | null>): Promise<PasswordPolicy | null> {
    const hit = this.policyCache.get(key);
    if (hit && this.now() - hit.at < this.policyCacheMs) return hit.value;
    const value = load();
    this.policyCache.set(key, { at: this.now(), value });
    value.catch(() => this.policyCache.delete(key));
    return value;
  }

  /** Re-reads the user and refuses what self-service must never touch. */
  private async guard(user: DirectoryUser, op: DirectoryOperation): Promise<DirectoryUser> {
    const fresh = await this.read(op, (c) => readUserByDN(c, user.dn, this.config.scopeGroupDN, this.readOptions()));
    if (!fresh) throw new DirectoryError('USER_NOT_FOUND', { detail: `${op}: ${user.dn} no longer exists` });
    if (fresh.protected) throw new DirectoryError('USER_PROTECTED', { detail: `${op}: ${fresh.dn} is protected (adminCount=1)` });
    if (fresh.disabled) throw new DirectoryError('ACCOUNT_DISABLED', { detail: `${op}: ${fresh.dn} is disabled` });
    if (!fresh.inScope) throw new DirectoryError('USER_NOT_FOUND', { detail: `${op}: ${fresh.dn} is not in the scope group` });
    return fresh;
  }

  /** A write on the shared connection: never retried; errors mapped with the user's policy. */
  private async write(
    op: DirectoryOperation,
    user: DirectoryUser,
    ctx: { newPassword?: string; secrets?: string[]; historyEnforced?: () => boolean },
    fn: (client: Client, dc: RootDse) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    let dcUrl: string | undefined;
    try {
      return await this.pool.run(op, (client, dc) => {
        dcUrl = dc.url;
        return fn(client, dc);
      });
    } catch (err) {
      const policy = needsPolicyForReason(err) ? await this.policyFor(user).catch(() => undefined) : undefined;
      throw toDirectoryError(err, {
        op,
        dc: dcUrl,
        policy,
        newPassword: ctx.newPassword,
        user: { sam: user.sam, displayName: user.displayName, pwdLastSet: user.pwdLastSet },
        historyEnforced: ctx.historyEnforced?.(),
        secrets: [...(ctx.secrets ?? []), this.config.bindPassword],
        now: this.now(),
      });
    }
  }
}
