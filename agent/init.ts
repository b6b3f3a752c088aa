/**
 * `unlatch-agent init`: creates the keys and the tenant secret with safe permissions, writes a
 * commented config, and returns what the relay operator and the browser admin need.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { EventLog } from './events.ts';
import { KeyRing, writePrivate } from './keys.ts';
import { browserPolicies, PolicyInputError } from './policy.ts';
import { writePolicyFiles } from './policy-files.ts';

export interface InitOptions {
  dir: string;
  tenant: string;
  relayUrl: string;
  ldapUrls: string[];
  baseDN: string;
  bindDN: string;
  /** File holding the service account password (the admin creates it; we never take it on argv). */
  bindPasswordFile: string;
  ldapCaFile?: string | undefined;
  scopeGroupDN?: string | undefined;
  smtpHost: string;
  smtpPort: number;
  smtpFrom: string;
  smtpRequireTLS: boolean;
  smtpCaFile?: string | undefined;
  force?: boolean;
}

export interface InitResult {
  configPath: string;
  pin: string;
  /** The YAML block the relay operator adds under `tenants:`. */
  relayEntry: string;
  /**
   * The browser policy (as `unlatch-agent policy` makes it, for the relay URL given), written to
   * `<dir>/policy/`; or why it could not be made from that URL.
   */
  policy: { dir: string; settings: Record<string, unknown> } | { error: string };
}

/**
 * The service account's password typed in the init dialogue, into a file only the agent's user
 * can read: the folder is made 0700 (as for the keys) before the 0600 file is written. `file` is
 * relative to `dir`, as the config then names it.
 */
export function writeBindPassword(dir: string, file: string, password: string): void {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  writePrivate(resolve(abs, file), password);
}

/** The relay stores only this, never the secret. */
export function secretHash(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('base64url')}`;
}

export async function initAgent(o: InitOptions, events?: EventLog): Promise<InitResult> {
  const dir = resolve(o.dir);
  const configPath = join(dir, 'agent.yaml');
  if (existsSync(configPath) && !o.force) {
    throw new Error(`${configPath} already exists; pass --force to overwrite the config (keys and secret are kept)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secretPath = join(dir, 'tenant.secret');
  if (!existsSync(secretPath)) writePrivate(secretPath, `${randomBytes(32).toString('base64url')}\n`);
  const keys = await KeyRing.init({ dir: join(dir, 'keys'), tenant: o.tenant, rotateDays: 180, graceDays: 7 });

  const config = {
    tenant: o.tenant,
    relay: { url: o.relayUrl, secret: { file: 'tenant.secret' } },
    keys: { dir: 'keys', rotateDays: 180, graceDays: 7 },
    directory: {
      urls: o.ldapUrls,
      baseDN: o.baseDN,
      bindDN: o.bindDN,
      bindPassword: { file: o.bindPasswordFile },
      ...(o.ldapCaFile ? { caFile: o.ldapCaFile } : {}),
      ...(o.scopeGroupDN ? { scopeGroupDN: o.scopeGroupDN } : {}),
    },
    gates: { required: 1, email: { codeDigits: 8, ttlSeconds: 600, resendAfterSeconds: 30 } },
    actions: { reset: true, unlock: true, change: true },
    smtp: {
      host: o.smtpHost,
      port: o.smtpPort,
      requireTLS: o.smtpRequireTLS,
      from: o.smtpFrom,
      ...(o.smtpCaFile ? { caFile: o.smtpCaFile } : {}),
    },
  };
  const header = [
    '# Unlatch agent configuration. Reference: docs/configuration.md',
    '# Secrets are never written here: tenant.secret and the bind password live in files readable only by the agent.',
    '# directory.urls: list every DC; the agent prefers the PDC emulator when it can reach it.',
    '',
  ].join('\n');
  writeFileSync(configPath, header + stringify(config), { mode: 0o600 });
  const secret = readFileSync(secretPath, 'utf8').trim();
  const relayEntry = stringify([{ id: o.tenant, secretHash: secretHash(secret) }]);
  const pin = await keys.pin();
  events?.emit('OnboardingEventSuccess', { tenant: o.tenant, config: configPath, pin }, 'Unlatch agent onboarded');
  return { configPath, pin, relayEntry, policy: writeInitialPolicy(join(dir, 'policy'), o.relayUrl, o.tenant, pin) };
}

/** Policy for browsers that reach the relay at the URL the agent uses (often the same public wss:// URL). */
function writeInitialPolicy(dir: string, relayUrl: string, tenant: string, pin: string): InitResult['policy'] {
  try {
    const policies = browserPolicies({ relayUrl, tenant, pin });
    writePolicyFiles(policies, dir);
    return { dir, settings: policies.settings };
  } catch (err) {
    if (err instanceof PolicyInputError) return { error: err.message };
    throw err;
  }
}
