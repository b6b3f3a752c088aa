/**
 * Read-only probes of the directory for `unlatch-agent doctor`. Nothing here writes to AD or
 * changes any user: the service account's rights are *read* — attribute writes from the DC's
 * own evaluation (`allowedAttributesEffective`), control-access rights by evaluating the
 * user object's DACL (read with the SD-flags control, so a non-admin may read it) against the
 * service account's token (rootDSE `tokenGroups`, which the DC builds for the bound account:
 * its own SID, nested groups, Everyone, Authenticated Users…). See ./acl.ts.
 *
 * Each DC is probed on its own short-lived connection (the agent's pool would hide which DC
 * answered what). The probes return facts; judging them is the doctor's job.
 */
import { AndFilter, BerWriter, Control, EqualityFilter, NotFilter, type Client, type Entry, type Filter } from 'ldapts';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { checkAccess, ACCESS, GUIDS, parseSecurityDescriptor, sidToString, wellKnownSidName, type AccessDecision } from './acl.ts';
import { newClient, type ConnectionSettings } from './connection.ts';
import { adDataCode } from './errors.ts';
import { attr, attrs } from './policy.ts';
import { scopeFilter } from './users.ts';

/** LDAP_SERVER_SD_FLAGS_OID: which parts of nTSecurityDescriptor to return. */
export const SD_FLAGS_OID = '1.2.840.113556.1.4.801';
const DACL_SECURITY_INFORMATION = 0x4;

/** SD flags = DACL only: needs READ_CONTROL, not SeSecurityPrivilege (which the SACL would). */
export class SdFlagsControl extends Control {
  constructor(private readonly flags: number = DACL_SECURITY_INFORMATION) {
    super(SD_FLAGS_OID, { critical: true });
  }

  protected override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(this.flags);
    value.endSequence();
    writer.writeBuffer(value.buffer, 0x04);
  }
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** DNS and IP names on the certificate. */
  altNames: string[];
  validFrom: Date;
  validTo: Date;
}

export type TlsProbe =
  | { ok: true; protocol: string; certificate: CertificateFacts; elapsedMs: number }
  | {
      ok: false;
      /** errno (ECONNREFUSED, ENOTFOUND, ETIMEDOUT…), X.509 verify code, ERR_TLS_CERT_ALTNAME_INVALID, or ERR_SSL_… */
      code: string;
      message: string;
      /** The name the certificate was checked against. */
      identity: string;
      /** What the server presented, when it got that far. */
      certificate?: CertificateFacts;
      elapsedMs: number;
    };

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 636) };
}

function certificateFacts(cert: tls.PeerCertificate): CertificateFacts | undefined {
  if (!cert || !cert.valid_to) return undefined;
  const name = (n: unknown) =>
    n && typeof n === 'object' ? Object.entries(n as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(', ') : '';
  return {
    subject: name(cert.subject),
    issuer: name(cert.issuer),
    altNames: (cert.subjectaltname ?? '')
      .split(/,\s*/)
      .map((s) => s.replace(/^(DNS|IP Address):/, ''))
      .filter(Boolean),
    validFrom: new Date(cert.valid_from),
    validTo: new Date(cert.valid_to),
  };
}

/**
 * Opens a TLS connection to the DC exactly as the agent's LDAP client would (TLS ≥ 1.2, the
 * configured CA, the same name check) and reports what happened, sending nothing.
 *
 * The handshake runs with `rejectUnauthorized: false` so that a certificate that fails can still
 * be described (issuer, names, dates); the verdict is then taken exactly as Node takes it —
 * the chain (`authorizationError`) and the name (`tls.checkServerIdentity`) — and the socket is
 * closed before a single byte of LDAP, let alone a credential, is written.
 */
export function probeTls(url: string, s: Pick<ConnectionSettings, 'caPem' | 'tlsServername' | 'timeoutMs'>): Promise<TlsProbe> {
  const started = performance.now();
  const { host, port } = hostPort(url);
  const name = s.tlsServername ?? host;
  const identity = name;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: TlsProbe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const fail = (code: string, message: string, certificate?: CertificateFacts) =>
      finish({ ok: false, code, message, identity, ...(certificate ? { certificate } : {}), elapsedMs: Math.round(performance.now() - started) });
    const socket = tls.connect({
      host,
      port,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: false,
      ...(s.caPem ? { ca: s.caPem } : {}),
      ...(name && !isIP(name) ? { servername: name } : {}),
    });
    const timer = setTimeout(() => fail('ETIMEDOUT', `no answer within ${s.timeoutMs} ms`), s.timeoutMs);
    socket.once('secureConnect', () => {
      const cert = certificateFacts(socket.getPeerCertificate());
      if (!socket.authorized) {
        const code = String((socket.authorizationError as unknown as { code?: string })?.code ?? socket.authorizationError ?? 'CERT_UNTRUSTED');
        return fail(code, String((socket.authorizationError as Error | undefined)?.message ?? socket.authorizationError), cert);
      }
      const mismatch = tls.checkServerIdentity(identity, socket.getPeerCertificate());
      if (mismatch) return fail((mismatch as NodeJS.ErrnoException).code ?? 'ERR_TLS_CERT_ALTNAME_INVALID', mismatch.message, cert);
      if (!cert) return fail('ERR_TLS_NO_CERT', 'the server presented no certificate');
      finish({ ok: true, protocol: socket.getProtocol() ?? 'TLS', certificate: cert, elapsedMs: Math.round(performance.now() - started) });
    });
    // `on`, not `once`: a second error after the first one settled must not go unhandled.
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ERROR', err.message));
    socket.on('close', () => fail('ECONNRESET', 'the server closed the connection during the TLS handshake'));
  });
}

export interface BindOutcome {
  ok: boolean;
  /** LDAP result code (49 invalid credentials…) when the server answered. */
  resultCode?: number;
  /** AD's `data` code of a failed bind ('52e', '775', …). */
  data?: string;
  message?: string;
}

export interface DcFacts {
  url: string;
  bind: BindOutcome;
  /** Present when the bind worked. */
  rootDse?: {
    dnsHostName?: string;
    dsServiceName?: string;
    supportedControl: string[];
    /** rootDSE currentTime, and this host's clock at the middle of that round trip. */
    currentTime?: Date;
    localTime: number;
    roundTripMs: number;
    /** The bound account's token, as the DC built it. */
    tokenSids: string[];
  };
  /** From the domain object's fSMORoleOwner. */
  pdc?: { ntdsDN: string; hostName?: string };
  /** A read after the bind failed. */
  readError?: string;
}

/** "20261123202609.0Z" → Date. */
export function parseGeneralizedTime(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(value ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
}

function buffers(entry: Entry, name: string): Buffer[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  return (Array.isArray(v) ? v : [v]).filter((x): x is Buffer => Buffer.isBuffer(x));
}

function parentDN(dn: string): string {
  // Split at the first comma that is not escaped.
  const m = /^(?:[^,\\]|\\.)*,(.*)$/.exec(dn);
  return m?.[1] ?? dn;
}

/**
 * Binds to one DC as the service account and reads what the doctor judges: rootDSE (clock,
 * controls, token) and who holds the PDC emulator role. Never throws: failures are facts.
 */
export async function inspectDc(url: string, s: ConnectionSettings, baseDN: string): Promise<DcFacts> {
  const client = newClient(url, s);
  const facts: DcFacts = { url, bind: { ok: false } };
  try {
    try {
      await client.bind(s.bindDN, s.bindPassword);
      facts.bind = { ok: true };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      const data = adDataCode(e.message ?? '');
      facts.bind = {
        ok: false,
        ...(typeof e.code === 'number' ? { resultCode: e.code } : {}),
        ...(data ? { data } : {}),
        message: redact(e.message ?? String(err), s.bindPassword),
      };
      return facts;
    }
    try {
      const t0 = Date.now();
      const root = await client.search('', {
        scope: 'base',
        attributes: ['currentTime', 'dnsHostName', 'dsServiceName', 'defaultNamingContext', 'supportedControl', 'tokenGroups'],
        explicitBufferAttributes: ['tokenGroups'],
      });
      const t1 = Date.now();
      const e = root.searchEntries[0];
      if (e) {
        const dnsHostName = attr(e, 'dnsHostName');
        const dsServiceName = attr(e, 'dsServiceName');
        const currentTime = parseGeneralizedTime(attr(e, 'currentTime'));
        facts.rootDse = {
          ...(dnsHostName ? { dnsHostName } : {}),
          ...(dsServiceName ? { dsServiceName } : {}),
          supportedControl: [...new Set(attrs(e, 'supportedControl'))],
          ...(currentTime ? { currentTime } : {}),
          localTime: Math.round((t0 + t1) / 2),
          roundTripMs: t1 - t0,
          tokenSids: buffers(e, 'tokenGroups').map((b) => sidToString(b)),
        };
      }
      // The role sits on the domain object; baseDN may be an OU below it.
      const domainDN = (e && attr(e, 'defaultNamingContext')) || baseDN;
      const domain = await client.search(domainDN, { scope: 'base', attributes: ['fSMORoleOwner'] });
      const owner = domain.searchEntries[0] ? attr(domain.searchEntries[0], 'fSMORoleOwner') : undefined;
      if (owner) {
        facts.pdc = { ntdsDN: owner };
        const server = await client.search(parentDN(owner), { scope: 'base', attributes: ['dNSHostName'] }).catch(() => undefined);
        const hostName = server?.searchEntries[0] ? attr(server.searchEntries[0], 'dNSHostName') : undefined;
        if (hostName) facts.pdc.hostName = hostName;
      }
    } catch (err) {
      facts.readError = redact((err as Error).message, s.bindPassword);
    }
    return facts;
  } finally {
    await client.unbind().catch(() => {});
  }
}

function redact(message: string, secret: string): string {
  return secret ? message.split(secret).join('[redacted]') : message;
}

export interface ScopeFacts {
  /** The group object exists and is readable. */
  exists: boolean;
  /** Users that are members (nested), counted up to `limit`. */
  members: number;
  limit: number;
}

const PERSON_USER: Filter[] = [
  new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
  new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
];

/** Does the scope group exist, and how many users are (nested) members of it? */
export async function inspectScope(url: string, s: ConnectionSettings, baseDN: string, scopeGroupDN: string, limit = 1000): Promise<ScopeFacts> {
  const client = newClient(url, s);
  try {
    await client.bind(s.bindDN, s.bindPassword);
    try {
      await client.search(scopeGroupDN, { scope: 'base', attributes: ['1.1'] });
    } catch (err) {
      if ((err as { code?: unknown }).code === 32) return { exists: false, members: 0, limit };
      throw err;
    }
    const r = await client.search(baseDN, {
      scope: 'sub',
      filter: new AndFilter({ filters: [...PERSON_USER, scopeFilter(scopeGroupDN)] }),
      attributes: ['1.1'],
      sizeLimit: limit,
    });
    return { exists: true, members: r.searchEntries.length, limit };
  } finally {
    await client.unbind().catch(() => {});
  }
}

export interface RightOnObject {
  /** For a control-access right: the DACL decision; undefined when the DACL could not be read. */
  decision?: AccessDecision;
  /** For an attribute write: whether the DC lists it in allowedAttributesEffective. */
  writable?: boolean;
  /** Who the deciding ACE names (a readable name where known, else the SID). */
  trustee?: string;
}

export interface SampleRights {
  dn: string;
  /** The container the right should be delegated on (the user's parent). */
  container: string;
  resetPassword: RightOnObject;
  changePassword: RightOnObject;
  lockoutTime: RightOnObject;
  pwdLastSet: RightOnObject;
  /** Why the DACL could not be evaluated (no READ_CONTROL…). */
  daclError?: string;
}

export interface RightsFacts {
  account: { dn: string; sid?: string; sam?: string; upn?: string };
  /** The token the DC built for the service account. */
  tokenSids: string[];
  samples: SampleRights[];
}

/**
 * The service account's rights on representative users in scope: the first user found in each
 * of up to `maxContainers` different OUs (delegation is usually per OU), never a protected
 * account (adminCount=1: AdminSDHolder gives those their own DACL, and self-service refuses them
 * anyway). Reads only.
 */
export async function inspectRights(
  url: string,
  s: ConnectionSettings,
  baseDN: string,
  scopeGroupDN: string | undefined,
  options: { maxContainers?: number; scanLimit?: number } = {},
): Promise<RightsFacts> {
  const maxContainers = options.maxContainers ?? 5;
  const client = newClient(url, s);
  try {
    await client.bind(s.bindDN, s.bindPassword);
    const [root, me] = await Promise.all([
      client.search('', { scope: 'base', attributes: ['tokenGroups'], explicitBufferAttributes: ['tokenGroups'] }),
      client.search(s.bindDN, {
        scope: 'base',
        attributes: ['objectSid', 'sAMAccountName', 'userPrincipalName', 'tokenGroups'],
        explicitBufferAttributes: ['objectSid', 'tokenGroups'],
      }),
    ]);
    const meEntry = me.searchEntries[0];
    // The rootDSE's token is the real one (well-known SIDs included); the account's own
    // tokenGroups (its nested groups) stands in where a DC does not offer it.
    let tokenSids = root.searchEntries[0] ? buffers(root.searchEntries[0], 'tokenGroups').map((b) => sidToString(b)) : [];
    if (!tokenSids.length && meEntry) tokenSids = buffers(meEntry, 'tokenGroups').map((b) => sidToString(b));
    const sidBuf = meEntry ? buffers(meEntry, 'objectSid')[0] : undefined;
    const sam = meEntry ? attr(meEntry, 'sAMAccountName') : undefined;
    const upn = meEntry ? attr(meEntry, 'userPrincipalName') : undefined;
    const account = { dn: s.bindDN, ...(sidBuf ? { sid: sidToString(sidBuf) } : {}), ...(sam ? { sam } : {}), ...(upn ? { upn } : {}) };
    // Whatever the DC put in the token, an authenticated bind always holds these.
    const token = new Set([...tokenSids, 'S-1-1-0', 'S-1-5-11', ...(account.sid ? [account.sid] : [])]);

    const candidates = await client.search(baseDN, {
      scope: 'sub',
      filter: new AndFilter({
        filters: [
          ...PERSON_USER,
          new NotFilter({ filter: new EqualityFilter({ attribute: 'adminCount', value: '1' }) }),
          ...(scopeGroupDN ? [scopeFilter(scopeGroupDN)] : []),
        ],
      }),
      attributes: ['1.1'],
      sizeLimit: options.scanLimit ?? 500,
    });
    const byContainer = new Map<string, string>();
    for (const e of candidates.searchEntries) {
      const container = parentDN(e.dn);
      if (!byContainer.has(container.toLowerCase())) byContainer.set(container.toLowerCase(), e.dn);
      if (byContainer.size >= maxContainers) break;
    }

    const names = new Map<string, string>();
    const nameOf = async (sid: string): Promise<string> => {
      if (sid === account.sid) return sam ?? s.bindDN;
      const known = wellKnownSidName(sid);
      if (known) return known;
      if (!names.has(sid)) {
        const r = await client.search(`<SID=${sid}>`, { scope: 'base', attributes: ['sAMAccountName'] }).catch(() => undefined);
        const n = r?.searchEntries[0] ? attr(r.searchEntries[0], 'sAMAccountName') : undefined;
        names.set(sid, n ?? sid);
      }
      return names.get(sid) as string;
    };

    const samples: SampleRights[] = [];
    for (const dn of byContainer.values()) {
      const r = await client.search(
        dn,
        { scope: 'base', attributes: ['allowedAttributesEffective', 'nTSecurityDescriptor'], explicitBufferAttributes: ['nTSecurityDescriptor'] },
        [new SdFlagsControl()],
      );
      const e = r.searchEntries[0];
      const writable = new Set((e ? attrs(e, 'allowedAttributesEffective') : []).map((a) => a.toLowerCase()));
      const sample: SampleRights = {
        dn,
        container: parentDN(dn),
        resetPassword: {},
        changePassword: {},
        lockoutTime: { writable: writable.has('lockouttime') },
        pwdLastSet: { writable: writable.has('pwdlastset') },
      };
      const sdBuf = e ? buffers(e, 'nTSecurityDescriptor')[0] : undefined;
      if (!sdBuf) {
        sample.daclError = 'the security descriptor was not returned (the service account lacks Read permissions on it)';
      } else {
        try {
          const sd = parseSecurityDescriptor(sdBuf);
          for (const [key, guid] of [
            ['resetPassword', GUIDS.resetPassword],
            ['changePassword', GUIDS.changePassword],
          ] as const) {
            const decision = checkAccess(sd.dacl, token, ACCESS.CONTROL_ACCESS, guid, [GUIDS.userClass]);
            sample[key] = { decision, ...(decision.ace ? { trustee: await nameOf(decision.ace.sid) } : {}) };
          }
        } catch (err) {
          sample.daclError = `the security descriptor could not be read: ${(err as Error).message}`;
        }
      }
      samples.push(sample);
    }
    return { account, tokenSids, samples };
  } finally {
    await client.unbind().catch(() => {});
  }
}
