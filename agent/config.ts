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

/** A code method (email, sms, voice): its defaults differ only in `enabled` and `attributes`. */
function codeMethod(d: { enabled: boolean; attributes: string[] }) {
  return z
    .object({
      enabled: z.boolean().default(d.enabled),
      codeDigits: z.number().int().min(8).max(12).default(8),
      ttlSeconds: durationSeconds.default(600),
      resendAfterSeconds: z.number().int().nonnegative().default(30),
      attributes: z
        .array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'use LDAP attribute names such as mail, otherMailbox, mobile'))
        .default(d.attributes)
        .describe('directory attributes that hold this contact data (pre-populated: no registration needed)'),
      registration: z.boolean().default(true).describe('people may register their own'),
    })
    .strict()
    .prefault({});
}

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
        required: z.union([z.literal(1), z.literal(2)]).default(1).describe('checks a person must pass before reset or unlock'),
        email: codeMethod({ enabled: true, attributes: ['mail'] }),
        sms: codeMethod({ enabled: false, attributes: ['mobile'] }),
        voice: codeMethod({ enabled: false, attributes: ['mobile', 'telephoneNumber'] }),
        totp: z
          .object({
            enabled: z.boolean().default(false),
            issuer: z.string().min(1).max(64).optional().describe('name shown in the authenticator app; default: the tenant'),
            digits: z.union([z.literal(6), z.literal(8)]).default(6),
            periodSeconds: z.number().int().min(15).max(120).default(30),
            window: z.number().int().min(0).max(2).default(1).describe('steps accepted either side of now (RFC 6238 clock skew)'),
          })
          .strict()
          .prefault({}),
        questions: z
          .object({
            enabled: z.boolean().default(false),
            register: z.number().int().min(1).max(8).default(3).describe('how many a person registers'),
            answer: z.number().int().min(1).max(8).default(2).describe('how many they answer at a reset'),
            minAnswerLength: z.number().int().min(1).max(64).default(3),
            builtIn: z.boolean().default(true).describe('offer the built-in, localised questions'),
            custom: z
              .array(
                z
                  .object({
                    id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'use 1-32 letters, digits, "-" or "_"'),
                    text: z.record(z.string().regex(/^[a-z]{2,3}$/, 'use a language code such as en or de'), z.string().min(3).max(300)),
                  })
                  .strict()
                  .refine((q) => Object.keys(q.text).length > 0, { message: 'give the text in at least one language (en is the fallback)' }),
              )
              .default([]),
            hashCost: z.number().int().min(10).max(20).default(15).describe('log2 of scrypt N for answer hashes (15: 32 MiB, ~0.1 s)'),
          })
          .strict()
          .prefault({}),
        phone: z
          .object({
            gateway: z
              .object({
                url: z.string().regex(/^https?:\/\/[^\s]+$/, 'use an https:// URL (http:// only for loopback)'),
                method: z.enum(['POST', 'PUT']).default('POST'),
                headers: z.record(z.string(), z.string()).default({}).describe('values may use {{secret}} and the message variables'),
                body: z.unknown().describe('JSON template: every string may use {{to}} {{code}} {{message}} {{channel}} {{locale}} {{secret}}'),
                secret: secretRef.optional().describe('substituted for {{secret}} (an API key or token)'),
                caFile: z.string().optional(),
                timeoutMs: z.number().int().positive().default(10_000),
              })
              .strict()
              .optional(),
            countries: z.array(z.string().regex(/^[A-Z]{2}$/, 'use ISO 3166 alpha-2 codes such as DE, FR, US')).default([]).describe('countries codes may be sent to; empty: none'),
            defaultCountry: z.string().regex(/^[A-Z]{2}$/).optional().describe('for numbers on file without a +country prefix'),
            dailyCap: z.number().int().nonnegative().default(500).describe('SMS and calls per tenant per UTC day'),
            smsText: z.string().min(8).max(480).default('Your verification code is {{code}}. It is valid for {{minutes}} minutes. Never share it.'),
            voiceText: z.string().min(8).max(480).default('Your verification code is {{code}}. I repeat: {{code}}.'),
          })
          .strict()
          .prefault({}),
        privileged: z
          .object({
            groups: z.array(z.string().min(3)).default([]).describe('DNs of groups whose members (nested) get this policy'),
            required: z.union([z.literal(1), z.literal(2)]).default(2),
            questions: z.boolean().default(false).describe('may security questions be one of their checks'),
          })
          .strict()
          .prefault({}),
        reconfirmDays: z.number().int().nonnegative().default(180).describe('ask people to confirm their registration after this; 0: never'),
        maxRegisteredMethods: z.number().int().min(1).max(20).default(5),
        maxFailuresPerHour: z.number().int().positive().default(5),
        maxResetsPerHour: z.number().int().positive().default(5),
        maxSendsPerHour: z.number().int().positive().default(10),
        blockHours: z.number().positive().default(24),
      })
      .strict()
      .prefault({})
      .superRefine((g, ctx) => {
        for (const m of ['sms', 'voice'] as const) {
          if (g[m].enabled && !g.phone.gateway) ctx.addIssue({ code: 'custom', path: [m, 'enabled'], message: 'SMS and voice codes need gates.phone.gateway' });
          if (g[m].enabled && g.phone.countries.length === 0) ctx.addIssue({ code: 'custom', path: ['phone', 'countries'], message: `list the countries ${m} codes may go to, e.g. [DE, FR]` });
        }
        const gw = g.phone.gateway?.url;
        if (gw?.startsWith('http://') && !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(gw)) {
          ctx.addIssue({ code: 'custom', path: ['phone', 'gateway', 'url'], message: 'use https:// (http:// only on loopback, for tests)' });
        }
        if (g.questions.answer > g.questions.register) ctx.addIssue({ code: 'custom', path: ['questions', 'answer'], message: 'cannot be more than questions.register' });
        const kinds = new Set<string>();
        if (g.email.enabled) kinds.add('email');
        if (g.sms.enabled || g.voice.enabled) kinds.add('phone');
        if (g.totp.enabled) kinds.add('totp');
        if (kinds.size === 0) ctx.addIssue({ code: 'custom', path: ['email', 'enabled'], message: 'enable at least one of email, sms, voice or totp (questions are never enough on their own)' });
        const needed = Math.max(g.required, g.privileged.groups.length ? g.privileged.required : 0);
        if (kinds.size + (g.questions.enabled ? 1 : 0) < needed) {
          ctx.addIssue({ code: 'custom', path: ['required'], message: `${needed} checks need at least ${needed} different kinds of method enabled (sms and voice are one kind)` });
        }
        const known = new Set<string>();
        for (const [i, q] of g.questions.custom.entries()) {
          if (known.has(q.id)) ctx.addIssue({ code: 'custom', path: ['questions', 'custom', i, 'id'], message: `duplicate question id "${q.id}"` });
          known.add(q.id);
        }
      }),
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
    store: z
      .object({
        file: z.string().min(1).optional().describe('the SQLite database; default state.db beside the keys folder'),
        keyFile: z.string().min(1).optional().describe('the key that seals the store at rest; default store.key in the keys folder'),
      })
      .strict()
      .prefault({}),
    notify: z
      .object({
        enabled: z.boolean().default(true),
        reset: z.boolean().default(true),
        change: z.boolean().default(true),
        unlock: z.boolean().default(true),
        registration: z.boolean().default(true),
        helpdeskUrl: z.string().regex(/^(https:\/\/|mailto:|tel:)[^\s]+$/, 'use an https://, mailto: or tel: link').optional(),
        helpdeskText: z.string().min(1).max(200).optional().describe('e.g. "call the IT help desk on +49 30 1234-0"'),
        organisation: z.string().min(1).max(100).optional().describe('shown in notices; default: the mail domain'),
      })
      .strict()
      .prefault({}),
    reminders: z
      .object({
        enabled: z.boolean().default(false).describe('e-mail people whose password expires soon (checked hourly by `run`)'),
        days: z
          .array(z.number().int().min(1).max(365))
          .min(1)
          .max(10)
          .default([14, 7, 1])
          .refine((d) => new Set(d).size === d.length, { message: 'list each number of days once, e.g. [14, 7, 1]' })
          .describe('a reminder when the password expires within each of these many days; one per threshold'),
        link: z
          .string()
          .regex(/^https:\/\/[^\s]+$/, 'use the https:// address where people change their password')
          .optional()
          .describe('where people change their password (required when enabled)'),
        hour: z.number().int().min(0).max(23).optional().describe("send only during this hour (0-23, the agent host's local time); default: any hour"),
        stateFile: z.string().min(1).optional().describe('who was reminded of what; default reminders.json beside the audit log'),
      })
      .strict()
      .prefault({})
      .refine((r) => !r.enabled || r.link !== undefined, { message: 'required when reminders.enabled is true (fix: the https:// address of your password change page)', path: ['link'] }),
    sessions: z
      .object({
        lifetimeSeconds: durationSeconds.default(900),
        max: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('info'),
        syslog: z
          .object({
            host: z.string().min(1).describe('syslog server (a SIEM collector, rsyslog, syslog-ng)'),
            port: z.number().int().min(1).max(65535).default(514),
            protocol: z.enum(['udp', 'tcp']).default('udp'),
            facility: z.number().int().min(0).max(23).default(16).describe('16 = local0 … 23 = local7; 10 = authpriv'),
          })
          .strict()
          .optional()
          .describe('also send every log line and event as RFC 5424 syslog'),
      })
      .strict()
      .prefault({}),
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
  config.reminders.stateFile = abs(config.reminders.stateFile) ?? resolve(dirname(config.audit.file), 'reminders.json');
  config.store.file = abs(config.store.file) ?? resolve(config.keys.dir, '..', 'state.db');
  config.store.keyFile = abs(config.store.keyFile) ?? resolve(config.keys.dir, 'store.key');
  if (config.gates.phone.gateway) {
    config.gates.phone.gateway.caFile = abs(config.gates.phone.gateway.caFile);
    if (config.gates.phone.gateway.secret?.file) config.gates.phone.gateway.secret.file = abs(config.gates.phone.gateway.secret.file);
  }
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
