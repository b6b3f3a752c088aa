/**
 * The pieces every agent command builds the same way from the config: the directory connection
 * and the gate settings. `run`, `remind` and `report` (coverage) share them so that they read
 * the same people with the same attributes and judge them by the same policy.
 */
import { readFileSync } from 'node:fs';
import type { AgentConfig } from './config.ts';
import { readSecret } from './config.ts';
import { Directory, type DirectoryOptions } from './directory/index.ts';
import { domainFromBaseDN, mailDomainOf } from './gates/decoy.ts';
import type { GateSettings } from './gates/index.ts';
import { HOUR_MS, type ThrottleLimits } from './gates/throttle.ts';
import { KeyRing } from './keys.ts';

/** Directory attributes the admin maps to contact data beyond those always read. */
export function extraAttributes(config: AgentConfig): string[] {
  const standard = new Set(['mail', 'mobile', 'telephonenumber', 'othermailbox']);
  const all = [...config.gates.email.attributes, ...config.gates.sms.attributes, ...config.gates.voice.attributes];
  return [...new Set(all.filter((a) => !standard.has(a.toLowerCase())))];
}

/** The directory as the config describes it (reads the bind password from its file or variable). */
export function directoryFromConfig(config: AgentConfig, options: DirectoryOptions = {}): Directory {
  const d = config.directory;
  const extra = extraAttributes(config);
  return new Directory(
    {
      urls: d.urls,
      baseDN: d.baseDN,
      bindDN: d.bindDN,
      bindPassword: readSecret(d.bindPassword, 'directory.bindPassword'),
      ...(d.caFile ? { caPem: readFileSync(d.caFile, 'utf8') } : {}),
      ...(d.tlsServername ? { tlsServername: d.tlsServername } : {}),
      ...(d.scopeGroupDN ? { scopeGroupDN: d.scopeGroupDN } : {}),
      ...(config.gates.privileged.groups.length ? { privilegedGroupDNs: config.gates.privileged.groups } : {}),
      ...(extra.length ? { extraAttributes: extra } : {}),
      timeoutMs: d.timeoutMs,
    },
    options,
  );
}

/** The domain of decoy e-mail hints: the sender's, else the directory's. */
export function mailDomainFromConfig(config: AgentConfig): string {
  return config.smtp.mailDomain ?? mailDomainOf(config.smtp.from) ?? domainFromBaseDN(config.directory.baseDN);
}

export function gateSettingsFromConfig(config: AgentConfig): GateSettings {
  const g = config.gates;
  const code = (m: AgentConfig['gates']['email']) => ({ ...m, ttlMs: m.ttlSeconds * 1000 });
  return {
    required: g.required,
    privileged: { required: g.privileged.required, questions: g.privileged.questions },
    email: code(g.email),
    sms: code(g.sms),
    voice: code(g.voice),
    totp: { enabled: g.totp.enabled, issuer: g.totp.issuer ?? config.tenant, digits: g.totp.digits, periodSeconds: g.totp.periodSeconds, window: g.totp.window },
    questions: {
      enabled: g.questions.enabled,
      register: g.questions.register,
      answer: g.questions.answer,
      minAnswerLength: g.questions.minAnswerLength,
      cost: g.questions.hashCost,
      builtIn: g.questions.builtIn,
      custom: g.questions.custom,
    },
    phone: { countries: g.phone.countries, defaultCountry: g.phone.defaultCountry, dailyCap: g.phone.dailyCap },
    mailDomain: mailDomainFromConfig(config),
    maxSealed: g.maxRegisteredMethods,
  };
}

export function throttleSettingsFromConfig(config: AgentConfig): ThrottleLimits {
  const g = config.gates;
  return { maxFailuresPerHour: g.maxFailuresPerHour, maxResetsPerHour: g.maxResetsPerHour, blockMs: g.blockHours * HOUR_MS, maxSendsPerHour: g.maxSendsPerHour };
}

/** The agent's key ring as the config places it. */
export function keyRingFromConfig(config: AgentConfig, now?: () => number): Promise<KeyRing> {
  const k = config.keys;
  return KeyRing.load({ dir: k.dir, tenant: config.tenant, rotateDays: k.rotateDays, graceDays: k.graceDays, ...(now ? { now } : {}) });
}
