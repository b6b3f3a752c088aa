/**
 * LDAPS connections to the domain controllers, bound as the service account.
 *
 * - Every connection is LDAPS with certificate verification (the configured CA, an optional
 *   server name), a connect timeout and an operation timeout.
 * - DC choice: writes should go to the PDC emulator (it has the newest password and lockout
 *   data first). The first configured DC that answers tells who that is: the domain object's
 *   fSMORoleOwner is the PDC's "NTDS Settings" DN, which equals the rootDSE dsServiceName of
 *   the PDC itself. The configured DCs are tried in order; the first that *is* the PDC wins;
 *   otherwise the PDC is tried by its dNSHostName; otherwise the first configured DC that
 *   answered is used. The choice is kept for `dcCacheMs` (default 60 s), so a DC that comes
 *   back or a moved PDC role is noticed within a minute.
 * - One bound connection is shared by all operations (LDAP multiplexes requests), re-opened
 *   when it drops or has been idle for `idleMs` (default 4 min, below AD's 15 min idle cut-off
 *   and most firewalls'). Searches are retried once on a fresh connection if the connection
 *   failed; writes never are (a write that may have reached the DC is not repeated).
 */
import { Client, type Entry } from 'ldapts';
import { debuglog } from 'node:util';
import { DirectoryError, isUnavailable, toDirectoryError, type DirectoryOperation } from './errors.ts';
import { attr, attrs } from './policy.ts';

export interface ConnectionSettings {
  urls: string[];
  baseDN: string;
  bindDN: string;
  bindPassword: string;
  caPem?: string | undefined;
  tlsServername?: string | undefined;
  timeoutMs: number;
  rejectUnauthorized: boolean;
}

export interface RootDse {
  /** The URL the agent uses for this DC. */
  url: string;
  dnsHostName?: string;
  /** DN of this DC's "NTDS Settings" object. */
  dsServiceName?: string;
  defaultNamingContext?: string;
  supportedControl: string[];
  /** This DC holds the PDC emulator role. */
  isPdc: boolean;
  /** dNSHostName of the PDC emulator, when known. */
  pdcHostName?: string;
}

/**
 * ldapts logs every request under NODE_DEBUG=ldapts, including modify values — the password
 * buffers. Refuse to run like that rather than write passwords to a log.
 */
export function assertNoWireDebug(): void {
  if (debuglog('ldapts').enabled) {
    throw new Error('NODE_DEBUG includes "ldapts", which would log password writes; remove it to run the directory client.');
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** A new (unconnected) ldapts client for one DC URL. */
export function newClient(url: string, s: ConnectionSettings, servername?: string): Client {
  const name = servername ?? s.tlsServername;
  return new Client({
    url,
    timeout: s.timeoutMs,
    connectTimeout: s.timeoutMs,
    strictDN: true,
    tlsOptions: {
      minVersion: 'TLSv1.2',
      rejectUnauthorized: s.rejectUnauthorized,
      ...(s.caPem ? { ca: s.caPem } : {}),
      ...(name && !isIp(name) ? { servername: name } : {}),
    },
  });
}

/** Opens a connection, binds as the service account, runs fn, and always unbinds. */
export async function withConnection<T>(url: string, s: ConnectionSettings, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = newClient(url, s);
  try {
    await client.bind(s.bindDN, s.bindPassword);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => {});
  }
}

function sameDN(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const norm = (dn: string) => dn.replace(/\s*([,=])\s*/g, '$1').toLowerCase();
  return norm(a) === norm(b);
}

function parentDN(dn: string): string | undefined {
  // The first RDN of an NTDS Settings DN is "CN=NTDS Settings": no escaped comma to worry about.
  const i = dn.indexOf(',');
  return i > 0 ? dn.slice(i + 1) : undefined;
}

interface Probe {
  url: string;
  client: Client;
  rootDse: Omit<RootDse, 'isPdc' | 'pdcHostName' | 'url'>;
  pdcNtds?: string;
  servername?: string;
}

async function readRootDse(client: Client): Promise<Probe['rootDse']> {
  const r = await client.search('', {
    scope: 'base',
    attributes: ['dnsHostName', 'dsServiceName', 'defaultNamingContext', 'supportedControl'],
  });
  const e: Entry | undefined = r.searchEntries[0];
  if (!e) return { supportedControl: [] };
  const dnsHostName = attr(e, 'dnsHostName');
  const dsServiceName = attr(e, 'dsServiceName');
  const defaultNamingContext = attr(e, 'defaultNamingContext');
  return {
    ...(dnsHostName ? { dnsHostName } : {}),
    ...(dsServiceName ? { dsServiceName } : {}),
    ...(defaultNamingContext ? { defaultNamingContext } : {}),
    supportedControl: [...new Set(attrs(e, 'supportedControl'))],
  };
}

export interface Connection {
  client: Client;
  dc: RootDse;
  /** TLS server name used for this DC (when not the configured one). */
  servername?: string;
}

export interface ConnectionPoolOptions {
  dcCacheMs?: number;
  idleMs?: number;
  now?: () => number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

interface Slot {
  conn: Connection;
  chosenAt: number;
  lastUsed: number;
  inflight: number;
  retired: boolean;
}

/** The shared, bound connection to the chosen DC (see the file comment). */
export class ConnectionPool {
  private readonly s: ConnectionSettings;
  private readonly dcCacheMs: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;
  private current: Slot | undefined;
  private opening: Promise<Slot> | undefined;
  private closed = false;

  constructor(settings: ConnectionSettings, options: ConnectionPoolOptions = {}) {
    assertNoWireDebug();
    if (!settings.urls.length) throw new Error('directory: no DC URLs configured');
    for (const url of settings.urls) {
      if (!/^ldaps:\/\//i.test(url)) throw new Error(`directory: ${url} is not ldaps:// (passwords are only written over TLS)`);
    }
    this.s = settings;
    this.dcCacheMs = options.dcCacheMs ?? 60_000;
    this.idleMs = options.idleMs ?? 240_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  /** The DC in use (connecting and choosing if needed). */
  async dc(): Promise<RootDse> {
    return (await this.slot()).conn.dc;
  }

  /**
   * Runs fn on the shared connection. Connection failures drop the connection; with
   * `retry: true` (reads only) fn runs once more on a fresh one.
   */
  async run<T>(op: DirectoryOperation, fn: (client: Client, dc: RootDse) => Promise<T>, options: { retry?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const slot = await this.slot();
      slot.inflight++;
      try {
        return await fn(slot.conn.client, slot.conn.dc);
      } catch (err) {
        if (!isUnavailable(err)) throw err;
        this.retire(slot, `${op} failed: ${(err as Error).message}`, true);
        if (!options.retry || attempt > 0) throw toDirectoryError(err, { op, dc: slot.conn.dc.url });
      } finally {
        slot.lastUsed = this.now();
        slot.inflight--;
        if (slot.retired && slot.inflight === 0) void slot.conn.client.unbind().catch(() => {});
      }
    }
  }

  /** Binds as `dn` on a separate, short-lived connection to the chosen DC. Throws the raw error. */
  async bindAs(dn: string, password: string): Promise<void> {
    const { conn } = await this.slot();
    const client = newClient(conn.dc.url, this.s, conn.servername);
    try {
      await client.bind(dn, password);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  /** Forgets the chosen DC (the next operation chooses again). */
  invalidate(): void {
    if (this.current) this.retire(this.current, 'invalidated', false);
  }

  async close(): Promise<void> {
    this.closed = true;
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      cur.retired = true;
      if (cur.inflight === 0) await cur.conn.client.unbind().catch(() => {});
    }
  }

  /** Stops handing out this connection; it is closed once no operation uses it. */
  private retire(slot: Slot, why: string, broken: boolean): void {
    if (slot.retired) return;
    slot.retired = true;
    if (this.current === slot) this.current = undefined;
    this.log('directory: connection retired', { dc: slot.conn.dc.url, why });
    if (broken || slot.inflight === 0) void slot.conn.client.unbind().catch(() => {});
  }

  private async slot(): Promise<Slot> {
    if (this.closed) throw new DirectoryError('INTERNAL', { detail: 'directory client is closed' });
    const cur = this.current;
    const now = this.now();
    if (cur) {
      const fresh = cur.conn.client.isConnected && now - cur.lastUsed < this.idleMs;
      const choiceValid = now - cur.chosenAt < this.dcCacheMs;
      if (fresh && choiceValid) return cur;
      this.retire(cur, fresh ? 'DC choice expired' : 'idle or disconnected', !cur.conn.client.isConnected);
    }
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async probe(url: string, servername?: string): Promise<Probe> {
    const client = newClient(url, this.s, servername);
    try {
      await client.bind(this.s.bindDN, this.s.bindPassword);
      const rootDse = await readRootDse(client);
      // fSMORoleOwner lives on the domain head, not on an OU a baseDN may name.
      const domain = await client.search(rootDse.defaultNamingContext ?? this.s.baseDN, { scope: 'base', attributes: ['fSMORoleOwner'] });
      const owner = domain.searchEntries[0] ? attr(domain.searchEntries[0], 'fSMORoleOwner') : undefined;
      return { url, client, rootDse, ...(owner ? { pdcNtds: owner } : {}), ...(servername ? { servername } : {}) };
    } catch (err) {
      await client.unbind().catch(() => {});
      throw err;
    }
  }

  private async pdcHostName(p: Probe): Promise<string | undefined> {
    const server = p.pdcNtds ? parentDN(p.pdcNtds) : undefined;
    if (!server) return undefined;
    try {
      const r = await p.client.search(server, { scope: 'base', attributes: ['dNSHostName'] });
      return r.searchEntries[0] ? attr(r.searchEntries[0], 'dNSHostName') : undefined;
    } catch {
      return undefined;
    }
  }

  private async open(): Promise<Slot> {
    const failures: Array<{ url: string; err: unknown }> = [];
    const tryProbe = async (url: string, servername?: string): Promise<Probe | undefined> => {
      try {
        return await this.probe(url, servername);
      } catch (err) {
        failures.push({ url, err });
        this.log('directory: DC did not answer', { dc: url, error: (err as Error).message });
        return undefined;
      }
    };
    const isPdc = (p: Probe, pdcNtds: string | undefined) => sameDN(p.rootDse.dsServiceName, pdcNtds);

    // The first configured DC alone when it is the PDC (the common case); else all of them.
    const [firstUrl, ...rest] = this.s.urls;
    let first = firstUrl ? await tryProbe(firstUrl) : undefined;
    let pdcNtds = first?.pdcNtds;
    let chosen: Probe | undefined = first && isPdc(first, pdcNtds) ? first : undefined;
    const others: Probe[] = [];
    if (!chosen && rest.length) {
      const probes = (await Promise.all(rest.map((u) => tryProbe(u)))).filter((p): p is Probe => !!p);
      pdcNtds ??= probes.find((p) => p.pdcNtds)?.pdcNtds;
      chosen = [first, ...probes].find((p): p is Probe => !!p && isPdc(p, pdcNtds));
      others.push(...probes);
      first ??= probes[0];
    }

    const known = chosen ?? first;
    const pdcHostName = known ? await this.pdcHostName(known) : undefined;
    if (!chosen && pdcHostName && !this.s.urls.some((u) => hostOf(u).toLowerCase() === pdcHostName.toLowerCase())) {
      // The PDC is not among the configured DCs: try it by name, same port and TLS settings.
      const port = first ? new URL(first.url).port || '636' : '636';
      const p = await tryProbe(`ldaps://${pdcHostName}:${port}`, pdcHostName);
      if (p && isPdc(p, pdcNtds)) chosen = p;
      else if (p) others.push(p);
    }

    chosen ??= first;
    for (const p of [first, ...others]) if (p && p !== chosen) void p.client.unbind().catch(() => {});
    if (!chosen) throw this.unavailable(failures);
    if (this.closed) {
      void chosen.client.unbind().catch(() => {});
      throw new DirectoryError('INTERNAL', { detail: 'directory client is closed' });
    }

    const dc: RootDse = {
      url: chosen.url,
      ...chosen.rootDse,
      isPdc: isPdc(chosen, pdcNtds),
      ...(pdcHostName ? { pdcHostName } : {}),
    };
    const now = this.now();
    const slot: Slot = {
      conn: { client: chosen.client, dc, ...(chosen.servername ? { servername: chosen.servername } : {}) },
      chosenAt: now,
      lastUsed: now,
      inflight: 0,
      retired: false,
    };
    this.current = slot;
    this.log('directory: using DC', { dc: dc.url, host: dc.dnsHostName, pdc: dc.isPdc });
    return slot;
  }

  private unavailable(failures: Array<{ url: string; err: unknown }>): DirectoryError {
    const mapped = failures.map((f) => toDirectoryError(f.err, { op: 'connect', dc: f.url, secrets: [this.s.bindPassword] }));
    const detail = mapped.map((e) => e.detail).join('; ') || 'no DC configured';
    // A wrong service password or missing rights everywhere is an admin problem, not an outage.
    const denied = mapped.find((e) => e.code === 'ACCESS_DENIED');
    if (denied && mapped.every((e) => e.code !== 'DIRECTORY_UNAVAILABLE')) {
      return new DirectoryError('ACCESS_DENIED', { detail, cause: denied.cause });
    }
    return new DirectoryError('DIRECTORY_UNAVAILABLE', { detail: `no DC answered: ${detail}`, cause: mapped[0]?.cause });
  }
}
