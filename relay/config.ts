/**
 * The relay's configuration: one schema, every default in one place (DEFAULTS), and errors that
 * name the path of each bad value and say how to fix it. docs/configuration.md ("Relay")
 * documents the same keys; keep the two in step.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../protocol/envelope.ts';

/** Every default, documented once. Times are milliseconds. */
export const DEFAULTS = {
  listen: { host: '0.0.0.0', port: 8443 },
  /** Number of reverse proxies in front of the relay whose X-Forwarded-For is trusted (0: none). */
  trustProxy: 0,
  log: { level: 'info' },
  /** GET /metrics (Prometheus text format) on the relay's own port. */
  metrics: { enabled: true },
  pow: {
    /** Leading zero bits asked of every client; ~0.2-0.3 s of WebCrypto hashing in a browser. */
    difficulty: 14,
    /** Never ask more than this, however high the load (20 bits ≈ 15-20 s). */
    maxDifficulty: 20,
    /** Bits added per load step. */
    loadStep: 2,
    /** One load step per this many open sessions of the tenant… */
    sessionsPerStep: 200,
    /** …and one per this many new client connections per second to the tenant. */
    connectionsPerSecondPerStep: 20,
    /** How long a challenge may be solved and used. */
    ttlMs: 60_000,
    /** Solved challenges remembered (single use); beyond this, new sessions are refused. */
    maxRemembered: 100_000,
  },
  limits: {
    maxConnections: 10_000,
    /** Whole companies sit behind one NAT address, so this is generous. */
    maxConnectionsPerAddress: 200,
    maxSessionsPerTenant: 5_000,
    connectionsPerAddress: { perSecond: 2, burst: 30 },
    connectionsPerTenant: { perSecond: 100, burst: 500 },
    framesPerAddress: { perSecond: 20, burst: 100 },
    framesPerTenant: { perSecond: 1_000, burst: 5_000 },
    /** A peer that lets this much pile up in its send buffer is dropped instead of buffered. */
    maxBufferedBytes: 1_048_576,
  },
  timeouts: {
    sessionLifetimeMs: 900_000,
    /** A client message the agent has not answered within this is dropped with the session. */
    messageTimeoutMs: 120_000,
    /** ws ping interval; a peer that has not answered the previous ping is terminated. */
    heartbeatIntervalMs: 30_000,
    /** An agent must send `hello` this soon after connecting. */
    helloTimeoutMs: 10_000,
  },
} as const;

/** What to do about a bad value, by path (array indices as []). Used in error messages. */
const FIXES: Record<string, string> = {
  'listen.host': 'an address to bind, e.g. 0.0.0.0 or 127.0.0.1',
  'listen.port': 'an integer 0..65535 (0 picks a free port)',
  'tls': 'either leave tls out or give both cert and key',
  'tls.cert': 'the path of a PEM certificate file (chain included)',
  'tls.key': 'the path of the PEM private key file',
  'trustProxy': 'the number of reverse proxies in front of the relay (0 when clients connect directly); true means 1',
  'log.level': 'one of fatal, error, warn, info, debug, trace, silent',
  'tenants': 'a list of tenants, each with id and secretHash',
  'tenants[].id': 'lower-case letters, digits and "-", starting with a letter or digit, at most 63 characters',
  'tenants[].secretHash':
    '"sha256:" followed by the base64url SHA-256 of the agent\'s tenant secret (43 characters); `unlatch-agent init` prints it',
  'tenants[].allowedOrigins': 'a list of Chromium extension origins',
  'tenants[].allowedOrigins[]': 'chrome-extension://<32 letters a-p> (the extension id shown on chrome://extensions)',
  'tenants[].allowFirefox': 'true or false (Firefox extension origins are random per install, so they are all-or-nothing)',
  'tenants[].allowNoOrigin': 'true or false (true lets unlatch-client and other non-browser clients in)',
  'powKeyFile': 'the path of a file with at least 32 random bytes, e.g. `head -c 32 /dev/urandom > pow.key`',
  'metrics.enabled': 'true or false (false: no /metrics endpoint)',
  'pow.difficulty': 'an integer 0..32 of leading zero bits',
  'pow.maxDifficulty': 'an integer 0..32, at least pow.difficulty',
  'pow.loadStep': 'an integer 0..8 (bits added per load step)',
  'timeouts.heartbeatIntervalMs': 'a whole number of milliseconds, 1..60000',
};
const POSITIVE_FIX = 'a positive whole number';

function fixFor(path: string): string {
  if (FIXES[path]) return FIXES[path];
  if (path.endsWith('.perSecond')) return 'a positive number (fractions allowed, e.g. 0.5)';
  if (path.startsWith('limits.') || path.startsWith('timeouts.') || path.startsWith('pow.')) return POSITIVE_FIX;
  return 'remove it or see docs/configuration.md';
}

const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const bucket = (d: { perSecond: number; burst: number }) =>
  z
    .strictObject({
      perSecond: z.number().positive().max(1e9).default(d.perSecond),
      burst: positiveInt.default(d.burst),
    })
    .prefault({});

const TenantSchema = z.strictObject({
  id: z.string().regex(TENANT_ID_PATTERN, 'not a valid tenant id'),
  secretHash: z.string().regex(/^sha256:[A-Za-z0-9_-]{43}$/, 'not a "sha256:<base64url>" hash'),
  allowedOrigins: z.array(z.string().regex(/^chrome-extension:\/\/[a-p]{32}$/, 'not a chrome-extension origin')).default([]),
  allowFirefox: z.boolean().default(false),
  allowNoOrigin: z.boolean().default(false),
});

const D = DEFAULTS;
export const RelayConfigSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().min(1).default(D.listen.host),
        port: z.number().int().min(0).max(65_535).default(D.listen.port),
      })
      .prefault({}),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    trustProxy: z
      .union([z.boolean(), z.number().int().min(0).max(16)])
      .default(D.trustProxy)
      .transform((v) => (v === true ? 1 : v === false ? 0 : v)),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(D.log.level) })
      .prefault({}),
    tenants: z.array(TenantSchema).default([]),
    metrics: z.strictObject({ enabled: z.boolean().default(D.metrics.enabled) }).prefault({}),
    powKeyFile: z.string().min(1).optional(),
    pow: z
      .strictObject({
        difficulty: z.number().int().min(0).max(32).default(D.pow.difficulty),
        maxDifficulty: z.number().int().min(0).max(32).default(D.pow.maxDifficulty),
        loadStep: z.number().int().min(0).max(8).default(D.pow.loadStep),
        sessionsPerStep: positiveInt.default(D.pow.sessionsPerStep),
        connectionsPerSecondPerStep: z.number().positive().default(D.pow.connectionsPerSecondPerStep),
        ttlMs: positiveInt.default(D.pow.ttlMs),
        maxRemembered: positiveInt.default(D.pow.maxRemembered),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxConnections: positiveInt.default(D.limits.maxConnections),
        maxConnectionsPerAddress: positiveInt.default(D.limits.maxConnectionsPerAddress),
        maxSessionsPerTenant: positiveInt.default(D.limits.maxSessionsPerTenant),
        connectionsPerAddress: bucket(D.limits.connectionsPerAddress),
        connectionsPerTenant: bucket(D.limits.connectionsPerTenant),
        framesPerAddress: bucket(D.limits.framesPerAddress),
        framesPerTenant: bucket(D.limits.framesPerTenant),
        maxBufferedBytes: positiveInt.default(D.limits.maxBufferedBytes),
      })
      .prefault({}),
    timeouts: z
      .strictObject({
        sessionLifetimeMs: positiveInt.default(D.timeouts.sessionLifetimeMs),
        messageTimeoutMs: positiveInt.default(D.timeouts.messageTimeoutMs),
        // Proxies and NATs drop idle connections after 60 s or more; stay below.
        heartbeatIntervalMs: positiveInt.max(60_000, 'must be at most 60000 (60 s)').default(D.timeouts.heartbeatIntervalMs),
        helloTimeoutMs: positiveInt.default(D.timeouts.helloTimeoutMs),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.tenants.forEach((t, i) => {
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'id'], message: `duplicate tenant id "${t.id}"` });
      seen.add(t.id);
    });
    if (cfg.pow.maxDifficulty < cfg.pow.difficulty) {
      ctx.addIssue({ code: 'custom', path: ['pow', 'maxDifficulty'], message: 'is lower than pow.difficulty' });
    }
  });

export type RelayConfigInput = z.input<typeof RelayConfigSchema>;
export type RelayConfig = z.output<typeof RelayConfigSchema>;
export type TenantConfig = RelayConfig['tenants'][number];

/** Bad configuration; `issues` holds one line per bad value: "path: problem (fix: …)". */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: string[], source?: string) {
    super(`invalid relay configuration${source ? ` in ${source}` : ''}:\n  ${issues.join('\n  ')}`);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(top level)';
}

function issueLine(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  const pattern = issue.path.map((p) => (typeof p === 'number' ? '[]' : `.${String(p)}`)).join('').replace(/^\./, '').replace(/\.\[\]/g, '[]');
  let problem = issue.message;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) problem = 'is required';
  else if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (fix: remove or correct the spelling; see docs/configuration.md)`;
  }
  return `${where}: ${problem} (fix: ${fixFor(pattern)})`;
}

/** Validates an already-parsed config object and applies the defaults. Throws ConfigError. */
export function parseConfig(input: unknown, source?: string): RelayConfig {
  const result = RelayConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(result.error.issues.map(issueLine), source);
  return result.data;
}

/**
 * Reads a YAML config file, validates it, and makes `tls.*` and `powKeyFile` paths absolute
 * (relative paths are relative to the config file).
 */
export async function loadConfigFile(path: string): Promise<RelayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read the file: ${(err as Error).message} (fix: pass --config with an existing file)`], path);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]} (fix: correct the YAML)`), path);
  }
  const config = parseConfig(doc.toJS({ maxAliasCount: 100 }), path);
  const base = dirname(resolve(path));
  if (config.tls) config.tls = { cert: resolve(base, config.tls.cert), key: resolve(base, config.tls.key) };
  if (config.powKeyFile) config.powKeyFile = resolve(base, config.powKeyFile);
  return config;
}

/** Files named by the config, read at start-up. */
export interface RelayFiles {
  tls?: { cert: Buffer; key: Buffer };
  powKey?: Buffer;
}

/** Reads the TLS and PoW key files; any failure is a ConfigError naming the key. */
export async function readConfigFiles(config: RelayConfig): Promise<RelayFiles> {
  const issues: string[] = [];
  const read = async (key: string, file: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(file);
    } catch (err) {
      issues.push(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (fix: ${fixFor(key)})`);
      return undefined;
    }
  };
  const files: RelayFiles = {};
  if (config.tls) {
    const [cert, key] = await Promise.all([read('tls.cert', config.tls.cert), read('tls.key', config.tls.key)]);
    if (cert && key) files.tls = { cert, key };
  }
  if (config.powKeyFile) {
    const powKey = await read('powKeyFile', config.powKeyFile);
    if (powKey && powKey.length < 32) issues.push(`powKeyFile: ${config.powKeyFile} holds ${powKey.length} bytes (fix: ${fixFor('powKeyFile')})`);
    else if (powKey) files.powKey = powKey;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return files;
}
