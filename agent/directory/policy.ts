/**
 * The effective password policy of a user: the domain's (attributes of the domain object), or
 * the fine-grained password settings object (PSO) named by the user's msDS-ResultantPSO.
 *
 * By default only admins may read PSOs; the service account needs List/Read on
 * CN=Password Settings Container,CN=System,<domain>. When the PSO cannot be read the domain
 * policy is returned, flagged `psoUnreadable`.
 */
import type { Client, Entry } from 'ldapts';

export interface PasswordPolicy {
  minLength: number;
  complexity: boolean;
  historyLength: number;
  minAgeSeconds: number;
  /** 0 = passwords never expire. */
  maxAgeSeconds: number;
  /** 0 = no lockout. */
  lockoutThreshold: number;
  /** 0 = locked until an admin unlocks. */
  lockoutDurationSeconds: number;
  /** Bad-password counter reset after this many seconds. */
  lockoutWindowSeconds: number;
  source: 'domain' | 'pso';
  /** The PSO's DN when source is 'pso' (or when it could not be read). */
  psoDN?: string;
  /** A PSO applies but the service account may not read it; the domain values are shown. */
  psoUnreadable?: boolean;
}

export const DOMAIN_POLICY_ATTRIBUTES = [
  'minPwdLength',
  'pwdProperties',
  'pwdHistoryLength',
  'minPwdAge',
  'maxPwdAge',
  'lockoutThreshold',
  'lockoutDuration',
  'lockOutObservationWindow',
];

export const PSO_ATTRIBUTES = [
  'msDS-MinimumPasswordLength',
  'msDS-PasswordComplexityEnabled',
  'msDS-PasswordHistoryLength',
  'msDS-MinimumPasswordAge',
  'msDS-MaximumPasswordAge',
  'msDS-LockoutThreshold',
  'msDS-LockoutDuration',
  'msDS-LockoutObservationWindow',
];

const DOMAIN_PASSWORD_COMPLEX = 1;
const NEVER = -(2n ** 63n);

/** One attribute value of an ldapts entry, matched case-insensitively. */
export function attr(entry: Entry, name: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return undefined;
  const v = entry[key];
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return undefined;
  return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** All values of an attribute (strings), matched case-insensitively. */
export function attrs(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

function int(value: string | undefined, fallback = 0): number {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return fallback;
  return Number(value);
}

/**
 * An AD interval (negative count of 100 ns, e.g. maxPwdAge -36288000000000 = 42 days) in
 * seconds. The "never" value (-2^63) and 0 give 0.
 */
export function intervalSeconds(value: string | undefined): number {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return 0;
  const n = BigInt(value.trim());
  if (n === NEVER || n === 0n) return 0;
  const abs = n < 0n ? -n : n;
  return Number(abs / 10_000_000n);
}

export function parseDomainPolicy(entry: Entry): PasswordPolicy {
  return {
    minLength: int(attr(entry, 'minPwdLength')),
    complexity: (int(attr(entry, 'pwdProperties')) & DOMAIN_PASSWORD_COMPLEX) !== 0,
    historyLength: int(attr(entry, 'pwdHistoryLength')),
    minAgeSeconds: intervalSeconds(attr(entry, 'minPwdAge')),
    maxAgeSeconds: intervalSeconds(attr(entry, 'maxPwdAge')),
    lockoutThreshold: int(attr(entry, 'lockoutThreshold')),
    lockoutDurationSeconds: intervalSeconds(attr(entry, 'lockoutDuration')),
    lockoutWindowSeconds: intervalSeconds(attr(entry, 'lockOutObservationWindow')),
    source: 'domain',
  };
}

export function parsePso(entry: Entry): PasswordPolicy {
  return {
    minLength: int(attr(entry, 'msDS-MinimumPasswordLength')),
    complexity: (attr(entry, 'msDS-PasswordComplexityEnabled') ?? '').toUpperCase() === 'TRUE',
    historyLength: int(attr(entry, 'msDS-PasswordHistoryLength')),
    minAgeSeconds: intervalSeconds(attr(entry, 'msDS-MinimumPasswordAge')),
    maxAgeSeconds: intervalSeconds(attr(entry, 'msDS-MaximumPasswordAge')),
    lockoutThreshold: int(attr(entry, 'msDS-LockoutThreshold')),
    lockoutDurationSeconds: intervalSeconds(attr(entry, 'msDS-LockoutDuration')),
    lockoutWindowSeconds: intervalSeconds(attr(entry, 'msDS-LockoutObservationWindow')),
    source: 'pso',
    psoDN: entry.dn,
  };
}

export async function readDomainPolicy(client: Client, baseDN: string): Promise<PasswordPolicy> {
  const r = await client.search(baseDN, { scope: 'base', attributes: DOMAIN_POLICY_ATTRIBUTES });
  const entry = r.searchEntries[0];
  if (!entry) throw new Error(`the domain object ${baseDN} was not returned`);
  return parseDomainPolicy(entry);
}

/** The PSO's values, or null when it is not there or not readable for the service account. */
export async function readPso(client: Client, psoDN: string): Promise<PasswordPolicy | null> {
  try {
    const r = await client.search(psoDN, { scope: 'base', attributes: PSO_ATTRIBUTES });
    const entry = r.searchEntries[0];
    if (!entry || attr(entry, 'msDS-MinimumPasswordLength') === undefined) return null;
    return parsePso(entry);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 32 || code === 50) return null; // noSuchObject (also: not visible), insufficientAccess
    throw err;
  }
}

/** msDS-ResultantPSO of a user (a constructed attribute, so a base search), or null. */
export async function readResultantPso(client: Client, userDN: string): Promise<string | null> {
  const r = await client.search(userDN, { scope: 'base', attributes: ['msDS-ResultantPSO'] });
  const entry = r.searchEntries[0];
  return (entry && attr(entry, 'msDS-ResultantPSO')) || null;
}
