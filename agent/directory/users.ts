/**
 * Finding a person in the directory and reading what the agent needs to know about them.
 *
 * Filters are built only from ldapts filter objects (EqualityFilter, OrFilter, AndFilter,
 * ExtensibleFilter): the identifier a person types is an attribute *value* in the BER encoding,
 * never spliced into a filter string, so `*)(sAMAccountName=*` is just a name nobody has.
 */
import { AndFilter, EqualityFilter, ExtensibleFilter, OrFilter, type Client, type Entry, type Filter } from 'ldapts';
import { attr, attrs } from './policy.ts';

/** A person as the agent sees them. Dates are null when AD stores 0 (never / not set). */
export interface DirectoryUser {
  dn: string;
  sam: string;
  upn?: string;
  displayName?: string;
  mail: string[];
  mobile?: string;
  telephoneNumber?: string;
  otherMailbox: string[];
  /** 1 for members (or former members) of protected groups, as set by AdminSDHolder. */
  adminCount: number;
  userAccountControl: number;
  lockoutTime: Date | null;
  pwdLastSet: Date | null;
  /** DN of the fine-grained password policy that applies, when one does. */
  psoDN?: string;
  /** ACCOUNTDISABLE is set. */
  disabled: boolean;
  /** Locked out now (msDS-User-Account-Control-Computed UF_LOCKOUT; lockoutTime ≠ 0 without it). */
  locked: boolean;
  /** "User must change password at next logon" (pwdLastSet = 0). */
  mustChange: boolean;
  /** The password is past its maximum age (UF_PASSWORD_EXPIRED computed by the DC). */
  passwordExpired: boolean;
  /** adminCount = 1: self-service refuses these accounts. */
  protected: boolean;
  /** Member of the scope group, directly or nested (true when no scope group is configured). */
  inScope: boolean;
  /** objectGUID as 32 hex digits: stable across renames and moves. */
  guid?: string;
  /** Member (nested) of one of the configured privileged groups. */
  privileged: boolean;
  /** Extra attributes asked for (ReadOptions.extraAttributes), by the name asked for. */
  attributes: Record<string, string[]>;
}

/** What a read asks for beyond the standard attributes. */
export interface ReadOptions {
  /** More attributes to read (e.g. those an admin maps to contact data). */
  extraAttributes?: readonly string[];
  /** Groups whose (nested) members are privileged. */
  privilegedGroupDNs?: readonly string[];
  /**
   * A user DN to read when the id matches nobody, so that a lookup costs the same LDAP round
   * trips whether the person exists or not (timing must not tell them apart).
   */
  decoyDN?: string;
}

export type LookupResult =
  | { status: 'found'; user: DirectoryUser }
  | { status: 'not_found' }
  | { status: 'ambiguous'; count: number };

const UF_ACCOUNTDISABLE = 0x2;
const UF_LOCKOUT = 0x10;
const UF_PASSWORD_EXPIRED = 0x800000;
/** LDAP_MATCHING_RULE_IN_CHAIN: membership through nested groups. */
export const MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';
export const MAX_ID_LENGTH = 256;

export const USER_ATTRIBUTES = [
  'sAMAccountName',
  'userPrincipalName',
  'displayName',
  'mail',
  'mobile',
  'telephoneNumber',
  'otherMailbox',
  'adminCount',
  'userAccountControl',
  'lockoutTime',
  'pwdLastSet',
  // constructed: only on a base search
  'msDS-User-Account-Control-Computed',
  'msDS-ResultantPSO',
  'objectGUID',
];

/** The attributes the DC computes per object: a subtree search costs a computation per entry (or omits them). */
export const CONSTRUCTED_USER_ATTRIBUTES: ReadonlySet<string> = new Set(['msDS-User-Account-Control-Computed', 'msDS-ResultantPSO']);

/**
 * The identifier as it will be searched, or null when it cannot name anyone (empty, too long,
 * control characters). "DOMAIN\sam" becomes "sam".
 */
export function normaliseUserId(id: string): string | null {
  if (typeof id !== 'string') return null;
  let v = id.trim();
  if (!v || v.length > MAX_ID_LENGTH) return null;
  if (/[\u0000-\u001f\u007f]/.test(v)) return null;
  const slash = v.indexOf('\\');
  if (slash > 0 && slash === v.lastIndexOf('\\') && !v.includes('@')) v = v.slice(slash + 1);
  return v || null;
}

/** (&(objectCategory=person)(objectClass=user)(|(sAMAccountName=id)(userPrincipalName=id)(mail=id))) */
export function userFilter(id: string): Filter {
  return new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
      new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
      new OrFilter({
        filters: ['sAMAccountName', 'userPrincipalName', 'mail'].map((attribute) => new EqualityFilter({ attribute, value: id })),
      }),
    ],
  });
}

/** (memberOf:1.2.840.113556.1.4.1941:=<group DN>) */
export function scopeFilter(groupDN: string): Filter {
  return new ExtensibleFilter({ matchType: 'memberOf', rule: MATCHING_RULE_IN_CHAIN, value: groupDN });
}

/** DNs of at most two users matching the identifier (two means: ambiguous). */
export async function searchUserDNs(client: Client, baseDN: string, id: string, timeLimitSeconds = 10): Promise<string[]> {
  const r = await client.search(baseDN, {
    scope: 'sub',
    filter: userFilter(id),
    sizeLimit: 2,
    timeLimit: timeLimitSeconds,
    attributes: ['1.1'],
  });
  return r.searchEntries.map((e) => e.dn);
}

/** AD FILETIME (100 ns since 1601) → Date; 0, absent and "never" → null. */
export function fileTime(value: string | undefined): Date | null {
  if (!value || !/^\d+$/.test(value)) return null;
  const n = BigInt(value);
  if (n === 0n || n >= 0x7fffffffffffffffn) return null;
  return new Date(Number(n / 10_000n - 11_644_473_600_000n));
}

export function toDirectoryUser(entry: Entry, inScope: boolean, privileged = false, extraAttributes: readonly string[] = []): DirectoryUser {
  const uac = Number(attr(entry, 'userAccountControl') ?? 0);
  const computedRaw = attr(entry, 'msDS-User-Account-Control-Computed');
  const computed = computedRaw === undefined ? undefined : Number(computedRaw);
  const lockoutRaw = attr(entry, 'lockoutTime');
  const pwdLastSetRaw = attr(entry, 'pwdLastSet');
  const adminCount = Number(attr(entry, 'adminCount') ?? 0) || 0;
  const opt = (name: string) => attr(entry, name) || undefined;
  const upn = opt('userPrincipalName');
  const displayName = opt('displayName');
  const mobile = opt('mobile');
  const telephoneNumber = opt('telephoneNumber');
  const psoDN = opt('msDS-ResultantPSO');
  const guidKey = Object.keys(entry).find((k) => k.toLowerCase() === 'objectguid');
  const guidValue = guidKey ? entry[guidKey] : undefined;
  const guidRaw = Array.isArray(guidValue) ? guidValue[0] : guidValue;
  const guid = Buffer.isBuffer(guidRaw) && guidRaw.length === 16 ? guidRaw.toString('hex') : undefined;
  const attributes: Record<string, string[]> = {};
  for (const name of extraAttributes) attributes[name] = attrs(entry, name).filter(Boolean);
  return {
    dn: entry.dn,
    sam: attr(entry, 'sAMAccountName') ?? '',
    ...(upn ? { upn } : {}),
    ...(displayName ? { displayName } : {}),
    mail: attrs(entry, 'mail').filter(Boolean),
    ...(mobile ? { mobile } : {}),
    ...(telephoneNumber ? { telephoneNumber } : {}),
    otherMailbox: attrs(entry, 'otherMailbox').filter(Boolean),
    adminCount,
    userAccountControl: uac,
    lockoutTime: fileTime(lockoutRaw),
    pwdLastSet: fileTime(pwdLastSetRaw),
    ...(psoDN ? { psoDN } : {}),
    disabled: (uac & UF_ACCOUNTDISABLE) !== 0,
    locked: computed !== undefined ? (computed & UF_LOCKOUT) !== 0 : fileTime(lockoutRaw) !== null,
    mustChange: pwdLastSetRaw === '0',
    passwordExpired: computed !== undefined && (computed & UF_PASSWORD_EXPIRED) !== 0,
    protected: adminCount === 1,
    inScope,
    ...(guid ? { guid } : {}),
    privileged,
    attributes,
  };
}

/** True when the user is in the scope group (nested membership counts). */
export async function isInScope(client: Client, userDN: string, scopeGroupDN: string | undefined): Promise<boolean> {
  if (!scopeGroupDN) return true;
  const r = await client.search(userDN, { scope: 'base', filter: scopeFilter(scopeGroupDN), attributes: ['1.1'] });
  return r.searchEntries.length === 1;
}

/** True when the user is a (nested) member of any of the groups. */
export async function isMemberOfAny(client: Client, userDN: string, groupDNs: readonly string[] | undefined): Promise<boolean> {
  if (!groupDNs?.length) return false;
  const filter = groupDNs.length === 1 ? scopeFilter(groupDNs[0] as string) : new OrFilter({ filters: groupDNs.map((g) => scopeFilter(g)) });
  const r = await client.search(userDN, { scope: 'base', filter, attributes: ['1.1'] });
  return r.searchEntries.length === 1;
}

/** Reads one user by DN (null when there is no such user object). */
export async function readUserByDN(client: Client, dn: string, scopeGroupDN: string | undefined, options: ReadOptions = {}): Promise<DirectoryUser | null> {
  const filter = new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
      new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
    ],
  });
  let entries: Entry[];
  let inScope: boolean;
  let privileged: boolean;
  const extra = options.extraAttributes ?? [];
  try {
    const [r, scoped, member] = await Promise.all([
      client.search(dn, { scope: 'base', filter, attributes: [...USER_ATTRIBUTES, ...extra], explicitBufferAttributes: ['objectGUID'] }),
      isInScope(client, dn, scopeGroupDN),
      isMemberOfAny(client, dn, options.privilegedGroupDNs),
    ]);
    entries = r.searchEntries;
    inScope = scoped;
    privileged = member;
  } catch (err) {
    if ((err as { code?: unknown }).code === 32) return null; // noSuchObject: deleted or moved
    throw err;
  }
  const entry = entries[0];
  return entry ? toDirectoryUser(entry, inScope, privileged, extra) : null;
}

/** Finds exactly one user by sAMAccountName, userPrincipalName or mail. */
export async function lookupUser(
  client: Client,
  baseDN: string,
  id: string,
  scopeGroupDN: string | undefined,
  timeLimitSeconds = 10,
  options: ReadOptions = {},
): Promise<LookupResult> {
  const normalised = normaliseUserId(id);
  const dns = normalised ? await searchUserDNs(client, baseDN, normalised, timeLimitSeconds) : [];
  if (dns.length > 1) return { status: 'ambiguous', count: dns.length };
  const dn = dns[0];
  if (!dn) {
    // The same reads as for a real person, thrown away: "nobody" must not answer sooner.
    if (options.decoyDN) await readUserByDN(client, options.decoyDN, scopeGroupDN, options).catch(() => null);
    return { status: 'not_found' };
  }
  const user = await readUserByDN(client, dn, scopeGroupDN, options);
  return user ? { status: 'found', user } : { status: 'not_found' };
}
