/**
 * The one settings module. Every setting comes from the admin's managed policy
 * (`storage.managed`, schema in managed_schema.json); there is no user-editable layer.
 *
 * Policy is read defensively, in the manner of Privacy Badger's ingestManagedStorage and uBO
 * Lite's admin.js: only known keys, each type-checked and validated on its own (one bad value
 * never discards the others), every problem reported with the key and the fix, the last good
 * policy cached in storage.local for when the managed area cannot be read, and a short retry on
 * first start because Chromium may not have loaded policy yet when the extension wakes up.
 */
import { DEFAULT_RULES } from './default-rules.ts';
import { OUTCOMES, type DetectionRule, type Outcome } from './rules.ts';
import { NUDGE_KEY, POLICY_CACHE_KEY, RULES_KEY } from './storage-keys.ts';

export { NUDGE_KEY, POLICY_CACHE_KEY, RULES_KEY };

/** Where to suggest registering after a successful sign-in (see managed_schema.json). */
export interface RegistrationNudge {
  /** Glob over the sign-in page's URL (and the page it answers with), as in detection rules. */
  urlPattern: string;
  /** CSS selector of the user-name input (read at submit; never a password field). */
  userField?: string;
  /** CSS selector only a signed-in page has; without it, "no password field any more" counts as signed in. */
  successSelector?: string;
}

export interface Settings {
  /** wss:// URL of the relay. Required. */
  relayUrl: string | undefined;
  /** Tenant id on the relay. Required. */
  tenant: string | undefined;
  /** base64url SHA-256 of the agent's signing key SPKI. Required: without it we talk to no one. */
  signingKeyPin: string | undefined;
  /** The pin of the agent's next signing key, deployed ahead of a signing-key rollover; either pin is accepted. */
  nextSigningKeyPin: string | undefined;
  /** Admin rules, tried before the built-in ones. Default: none. */
  detectionRules: DetectionRule[];
  /** Offer "unlock only" to locked-out users. Default: true (the agent has the final say). */
  allowUnlock: boolean;
  companyName: string | undefined;
  logoUrl: string | undefined;
  helpdeskUrl: string | undefined;
  helpdeskText: string | undefined;
  /** Suggest registering for self-service after a successful sign-in here. Default: off. */
  registrationNudge: RegistrationNudge | undefined;
}

export type SettingKey = keyof Settings;

export const SETTING_KEYS: readonly SettingKey[] = [
  'relayUrl',
  'tenant',
  'signingKeyPin',
  'nextSigningKeyPin',
  'detectionRules',
  'allowUnlock',
  'companyName',
  'logoUrl',
  'helpdeskUrl',
  'helpdeskText',
  'registrationNudge',
];

export const REQUIRED_KEYS: readonly SettingKey[] = ['relayUrl', 'tenant', 'signingKeyPin'];

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  relayUrl: undefined,
  tenant: undefined,
  signingKeyPin: undefined,
  nextSigningKeyPin: undefined,
  detectionRules: [],
  allowUnlock: true,
  companyName: undefined,
  logoUrl: undefined,
  helpdeskUrl: undefined,
  helpdeskText: undefined,
  registrationNudge: undefined,
});

/** A policy value that was ignored, with what the admin should deploy instead (English). */
export interface SettingsProblem {
  key: string;
  message: string;
}

export interface ParsedPolicy {
  settings: Settings;
  problems: SettingsProblem[];
  /** Keys whose value came from policy (the rest are defaults). */
  fromPolicy: SettingKey[];
}

export const MAX_RULES = 200;
const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** SHA-256 in base64url without padding is always 43 characters. */
const PIN = /^[A-Za-z0-9_-]{43}$/;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

type Result<T> = { ok: T } | { error: string };
type Check<T> = (value: unknown) => Result<T>;

function text(max: number): Check<string> {
  return (v) => {
    if (typeof v !== 'string') return { error: 'must be a string' };
    const s = v.trim();
    if (s.length === 0) return { error: 'must not be empty' };
    if (s.length > max) return { error: `must be at most ${max} characters` };
    return { ok: s };
  };
}

function pin(hint: string): Check<string> {
  return (v) => (typeof v === 'string' && PIN.test(v.trim()) ? { ok: v.trim() } : { error: hint });
}

function url(allowed: (u: URL) => boolean, hint: string): Check<string> {
  return (v) => {
    const s = text(2048)(v);
    if ('error' in s) return s;
    let u: URL;
    try {
      u = new URL(s.ok);
    } catch {
      return { error: `is not a URL; ${hint}` };
    }
    return allowed(u) ? { ok: s.ok } : { error: hint };
  };
}

const CHECKS: { [K in SettingKey]: Check<Settings[K]> } = {
  relayUrl: url(
    (u) =>
      (u.protocol === 'wss:' || (u.protocol === 'ws:' && LOOPBACK.has(u.hostname))) && !u.username && !u.password && !u.search && !u.hash,
    'use a wss:// address such as wss://relay.corp.example (ws:// only for localhost)',
  ),
  tenant: (v) =>
    typeof v === 'string' && TENANT.test(v) ? { ok: v } : { error: 'must be lower-case letters, digits and hyphens (1–63), e.g. acme' },
  signingKeyPin: pin("must be the 43-character pin printed by 'unlatch-agent policy'"),
  nextSigningKeyPin: pin("must be the 43-character next pin printed by 'unlatch-agent rotate-signing-key'"),
  detectionRules: (v) => (Array.isArray(v) ? { ok: v as DetectionRule[] } : { error: 'must be a list of rules' }),
  allowUnlock: (v) => (typeof v === 'boolean' ? { ok: v } : { error: 'must be true or false' }),
  companyName: text(100),
  logoUrl: (v) => {
    if (typeof v === 'string' && v.length <= 200_000 && /^data:image\/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(v)) return { ok: v };
    return url((u) => u.protocol === 'https:', 'must be an https:// address or a data:image/… URL')(v);
  },
  helpdeskUrl: url((u) => ['https:', 'http:', 'mailto:', 'tel:'].includes(u.protocol), 'must be an https://, mailto: or tel: address'),
  helpdeskText: text(500),
  registrationNudge: (v) => {
    const r = parseNudge(v);
    return typeof r === 'string' ? { error: r } : { ok: r };
  },
};

/** Validates the registration nudge; returns it (known fields only) or why it was refused. */
export function parseNudge(value: unknown): RegistrationNudge | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object with a urlPattern';
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['urlPattern', 'userField', 'successSelector'].includes(k)) return `has an unknown field "${k}"`;
  }
  const urlPattern = o['urlPattern'];
  if (typeof urlPattern !== 'string' || !/^https?:\/\//i.test(urlPattern) || urlPattern.length > 2048) {
    return 'needs a urlPattern (an http(s) URL with * wildcards, e.g. https://portal.corp.example/*)';
  }
  const nudge: RegistrationNudge = { urlPattern };
  for (const key of ['userField', 'successSelector'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim().length === 0 || v.length > 1000) return `${key} must be a non-empty CSS selector of at most 1000 characters`;
    nudge[key] = v.trim();
  }
  return nudge;
}

/** Validates one detection rule; returns the rule (known fields only) or why it was refused. */
export function parseRule(value: unknown): DetectionRule | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object';
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['urlPattern', 'textPattern', 'selector', 'outcome', 'userField'].includes(k)) return `has an unknown field "${k}"`;
  }
  const urlPattern = o['urlPattern'];
  if (typeof urlPattern !== 'string' || urlPattern.length === 0 || urlPattern.length > 2048) {
    return 'needs a urlPattern (a URL with * wildcards, e.g. https://sso.corp.example/*)';
  }
  const outcome = o['outcome'];
  if (typeof outcome !== 'string' || !(OUTCOMES as readonly string[]).includes(outcome)) {
    return 'needs an outcome: expired, must_change or locked';
  }
  const rule: DetectionRule = { urlPattern, outcome: outcome as Outcome };
  for (const key of ['textPattern', 'selector', 'userField'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > 1000) return `${key} must be a non-empty string of at most 1000 characters`;
    rule[key] = v;
  }
  if (rule.textPattern !== undefined) {
    try {
      new RegExp(rule.textPattern, 'i');
    } catch {
      return 'textPattern is not a valid regular expression';
    }
  }
  return rule;
}

/** Validates a raw managed-storage object. Never throws. */
export function parsePolicy(raw: unknown): ParsedPolicy {
  const settings: Settings = { ...DEFAULT_SETTINGS, detectionRules: [] };
  const problems: SettingsProblem[] = [];
  const fromPolicy: SettingKey[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { settings, problems, fromPolicy };
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      problems.push({ key, message: 'is not a known setting and was ignored (names are case-sensitive)' });
    }
  }
  for (const key of SETTING_KEYS) {
    if (o[key] === undefined || o[key] === null) continue;
    const result = (CHECKS[key] as Check<unknown>)(o[key]);
    if ('error' in result) {
      problems.push({ key, message: `${result.error}; the default is used` });
      continue;
    }
    if (key === 'detectionRules') {
      const items = result.ok as unknown[];
      const rules: DetectionRule[] = [];
      items.slice(0, MAX_RULES).forEach((item, i) => {
        const r = parseRule(item);
        if (typeof r === 'string') problems.push({ key: `detectionRules[${i}]`, message: `${r}; the rule was ignored` });
        else rules.push(r);
      });
      if (items.length > MAX_RULES) problems.push({ key, message: `only the first ${MAX_RULES} rules are used` });
      settings.detectionRules = rules;
    } else {
      (settings as unknown as Record<string, unknown>)[key] = result.ok;
    }
    fromPolicy.push(key);
  }
  return { settings, problems, fromPolicy };
}

/** Required settings that are missing, in the order an admin would fix them. */
export function missingRequired(settings: Settings): SettingKey[] {
  return REQUIRED_KEYS.filter((k) => settings[k] === undefined);
}

/** Admin rules first, then the built-in ones. */
export function effectiveRules(settings: Settings): DetectionRule[] {
  return [...settings.detectionRules, ...DEFAULT_RULES];
}

/** The part of `browser.storage` this module needs (the polyfill's and Chrome's fit). */
export interface StorageAreaLike {
  get(keys?: string | string[] | null): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string | string[]): Promise<void>;
}
export interface StorageLike {
  managed: Pick<StorageAreaLike, 'get'>;
  local: StorageAreaLike;
}


export interface LoadedSettings extends ParsedPolicy {
  /** policy: read now; cache: managed storage failed, last good policy used; none: no policy. */
  source: 'policy' | 'cache' | 'none';
}

export interface LoadOptions {
  /** Reads of an empty or failing managed area before giving up. Default 3. */
  attempts?: number;
  /** Pause between attempts. Default 300 ms. */
  delayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Reads managed storage, retrying briefly while it is empty or failing, and caches the result.
 * A read that keeps failing falls back to the cached policy; a managed area that stays empty
 * means the admin deployed nothing (or removed the policy), so the cache is dropped.
 */
export async function loadSettings(storage: StorageLike, options: LoadOptions = {}): Promise<LoadedSettings> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const delayMs = options.delayMs ?? 300;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let failed = false;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(delayMs);
    let raw: Record<string, unknown>;
    try {
      raw = await storage.managed.get(null);
      failed = false;
    } catch {
      // Firefox throws when no policy exists for the add-on; Chromium when storage is broken.
      failed = true;
      continue;
    }
    if (raw && Object.keys(raw).length > 0) {
      const parsed = parsePolicy(raw);
      await storage.local
        .set({ [POLICY_CACHE_KEY]: pick(raw), [RULES_KEY]: effectiveRules(parsed.settings), [NUDGE_KEY]: parsed.settings.registrationNudge ?? null })
        .catch(() => undefined);
      return { ...parsed, source: 'policy' };
    }
  }
  if (failed) {
    const cached = (await storage.local.get(POLICY_CACHE_KEY).catch(() => ({}) as Record<string, unknown>))[POLICY_CACHE_KEY];
    if (cached && typeof cached === 'object') {
      const parsed = parsePolicy(cached);
      return { ...parsed, source: 'cache' };
    }
  } else {
    await storage.local.remove(POLICY_CACHE_KEY).catch(() => undefined);
  }
  const parsed = parsePolicy({});
  await storage.local.set({ [RULES_KEY]: effectiveRules(parsed.settings), [NUDGE_KEY]: null }).catch(() => undefined);
  return { ...parsed, source: 'none' };
}

function pick(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) if (raw[key] !== undefined) out[key] = raw[key];
  return out;
}

/** The pins a bundle may be signed under: the current one, and the next one during a rollover. */
export function signingKeyPins(settings: Pick<Settings, 'signingKeyPin' | 'nextSigningKeyPin'>): string[] {
  return [settings.signingKeyPin, settings.nextSigningKeyPin].filter((p): p is string => p !== undefined);
}
