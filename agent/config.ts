/**
 * The agent's configuration: YAML, validated at start-up, every default in this one schema.
 * Secrets never live in the YAML: they come from files (mode 0600) or the environment.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../protocol/envelope.ts';

const secretRef = z
  .object({
    file: z.string().min(1).optional().describe('path of a file holding the secret'),
    env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('name of an environment variable holding the secret'),
  })
  .strict()
  .refine((s) => Boolean(s.file) !== Boolean(s.env), { message: 'give exactly one of "file" or "env"' });

const durationSeconds = z.number().int().positive();

export const AgentConfigSchema = z
  .object({
    tenant: z.string().regex(TENANT_ID_PATTERN, 'use lower-case letters, digits and dashes (at most 63)'),
    agentId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional().describe('defaults to the host name'),
    relay: z
      .object({
        url: z.string().regex(/^wss?:\/\/[^\s]+$/, 'use a ws:// or wss:// URL, e.g. wss://relay.example.com'),
        secret: secretRef.describe('the tenant secret the relay knows only the hash of'),
        caFile: z.string().optional().describe('extra CA certificate (PEM) to trust for the relay'),
        reconnectMaxSeconds: z.number().positive().max(60).default(5),
      })
      .strict(),
    keys: z
      .object({
        dir: z.string().min(1),
        rotateDays: z.number().positive().default(180),
        graceDays: z.number().nonnegative().default(7),
      })
      .strict(),
    directory: z
      .object({
        urls: z.array(z.string().regex(/^ldaps:\/\/[^\s]+$/, 'use ldaps:// — passwords are only written over TLS')).min(1),
        baseDN: z.string().min(3),
        bindDN: z.string().min(3),
        bindPassword: secretRef,
        caFile: z.string().optional(),
        tlsServername: z.string().optional(),
        scopeGroupDN: z.string().optional(),
        timeoutMs: z.number().int().positive().default(5000),
      })
      .strict(),
    gates: z
      .object({
        required: z.literal(1).default(1),
        email: z
          .object({
            enabled: z.boolean().default(true),
            codeDigits: z.number().int().min(8).max(12).default(8),
            ttlSeconds: durationSeconds.default(600),
            resendAfterSeconds: z.number().int().nonnegative().default(30),
          })
          .strict()
          .prefault({}),
        maxFailuresPerHour: z.number().int().positive().default(5),
        maxResetsPerHour: z.number().int().positive().default(5),
        blockHours: z.number().positive().default(24),
      })
      .strict()
      .prefault({}),
    actions: z
      .object({ reset: z.boolean().default(true), unlock: z.boolean().default(true), change: z.boolean().default(true) })
      .strict()
      .prefault({}),
    smtp: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(587),
        secure: z.boolean().default(false).describe('TLS from the first byte (port 465)'),
        requireTLS: z.boolean().default(true).describe('STARTTLS is mandatory'),
        caFile: z.string().optional(),
        user: z.string().optional(),
        password: secretRef.optional(),
        from: z.string().min(3),
        mailDomain: z.string().optional().describe('domain shown in decoy hints for unknown users; defaults to the domain of `from`'),
      })
      .strict(),
    sessions: z
      .object({
        lifetimeSeconds: durationSeconds.default(900),
        max: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('info') }).strict().prefault({}),
    audit: z
      .object({ file: z.string().min(1).optional().describe('the audit log; default audit.log beside the keys folder') })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        listen: z
          .object({
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65535, 'use a port 0..65535 (0 picks a free one)'),
          })
          .strict(),
      })
      .strict()
      .optional()
      .describe('serve Prometheus metrics on GET /metrics; off when absent'),
  })
  .strict();

export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** A config problem, with the path of the bad value and what to do about it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function parseAgentConfig(value: unknown, baseDir = process.cwd()): AgentConfig {
  const result = AgentConfigSchema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const config = result.data;
  // Relative paths are relative to the config file, not to wherever the service was started.
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(baseDir, p));
  config.keys.dir = abs(config.keys.dir) as string;
  config.relay.caFile = abs(config.relay.caFile);
  config.directory.caFile = abs(config.directory.caFile);
  config.smtp.caFile = abs(config.smtp.caFile);
  config.audit.file = abs(config.audit.file) ?? resolve(config.keys.dir, '..', 'audit.log');
  if (config.relay.secret.file) config.relay.secret.file = abs(config.relay.secret.file);
  if (config.directory.bindPassword.file) config.directory.bindPassword.file = abs(config.directory.bindPassword.file);
  if (config.smtp.password?.file) config.smtp.password.file = abs(config.smtp.password.file);
  return config;
}

export function loadAgentConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${path}: not valid YAML: ${(err as Error).message}`]);
  }
  return parseAgentConfig(value, dirname(resolve(path)));
}

/** Reads a secret from its file or environment variable; never from argv or the YAML itself. */
export function readSecret(ref: { file?: string | undefined; env?: string | undefined }, what: string): string {
  if (ref.env) {
    const value = process.env[ref.env];
    if (!value) throw new ConfigError([`${what}: environment variable ${ref.env} is not set`]);
    return value;
  }
  try {
    return readFileSync(ref.file as string, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`${what}: cannot read ${ref.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
}
