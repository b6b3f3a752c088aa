/**
 * `unlatch-agent init` in a terminal: asks for every value the flags left out (each checked as it
 * is typed, see ./init-questions.ts), shows a summary and asks before anything is written. The
 * service account's password is asked hidden and handed back to be written to a 0600 file: it is
 * never echoed, logged, or put in the config.
 */
import confirm from '@inquirer/confirm';
import input from '@inquirer/input';
import password from '@inquirer/password';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { InitOptions } from './init.ts';
import {
  type Check,
  checkBaseDn,
  checkBindDn,
  checkBindPassword,
  checkCaFile,
  checkDir,
  checkHost,
  checkLdapUrls,
  checkPort,
  checkRelayUrl,
  checkScopeGroup,
  checkSender,
  checkTenant,
  defaultBaseDn,
  splitLdapUrls,
} from './init-questions.ts';

/** Where a typed password goes, inside the agent's folder (relative paths in the config are relative to it). */
export const BIND_PASSWORD_FILE = 'bind.password';

/** The three kinds of question; injectable so the order and the skipping can be tested without a terminal. */
export interface Prompter {
  text(message: string, check: Check, defaultValue?: string): Promise<string>;
  secret(message: string, check: Check): Promise<string>;
  yesNo(message: string, defaultValue: boolean): Promise<boolean>;
}

export const terminalPrompter: Prompter = {
  // 'keep' leaves a refused answer in the line so a typo can be fixed rather than retyped.
  text: (message, check, defaultValue) => input({ message, validate: check, default: defaultValue, theme: { validationFailureMode: 'keep' } }),
  // No Ctrl-T reveal: the password must never appear on the screen (or in a recorded session).
  secret: (message, check) => password({ message, mask: '*', validate: check, toggleMask: false }),
  yesNo: (message, defaultValue) => confirm({ message, default: defaultValue }),
};

export type InitAnswers =
  | { written: true; options: InitOptions; /** Only when it was typed: the caller writes it to `options.bindPasswordFile`. */ bindPassword?: string }
  | { written: false; reason: string };

/**
 * Asks for what `given` lacks, then for confirmation. Values given as flags are neither asked
 * nor re-checked (the flags path does not check them either). Paths typed here are made absolute,
 * because the config resolves relative paths against its own folder, not the current one.
 */
export async function askInitOptions(given: Partial<InitOptions>, ask: Prompter, say: (text: string) => void): Promise<InitAnswers> {
  const dir = given.dir ?? resolve(await ask.text("Folder for the agent's config, keys and secrets", checkDir, './unlatch-agent'));
  let force = given.force ?? false;
  const configPath = join(resolve(dir), 'agent.yaml');
  if (existsSync(configPath) && !force) {
    // Asked now, not after every other answer: a "no" here should not cost the admin the dialogue.
    force = await ask.yesNo(`${configPath} exists. Overwrite the config? (the keys and the tenant secret are kept)`, false);
    if (!force) return { written: false, reason: `kept ${configPath}` };
  }
  const tenant = given.tenant ?? (await ask.text('Tenant id at the relay', checkTenant)).trim();
  const relayUrl = given.relayUrl ?? (await ask.text('Relay URL the agent connects to', checkRelayUrl)).trim();
  const ldapUrls = given.ldapUrls ?? splitLdapUrls(await ask.text('Domain controllers (ldaps:// URLs, comma-separated)', checkLdapUrls));
  const ldapCaFile = given.ldapCaFile ?? optionalPath(await ask.text("CA certificate file for the DCs' LDAPS (blank: the system's CAs)", checkCaFile));
  const baseDN = given.baseDN ?? (await ask.text('Base DN where users are searched', checkBaseDn, defaultBaseDn(ldapUrls.join(',')))).trim();
  const bindDN = given.bindDN ?? (await ask.text('Service account DN', checkBindDn)).trim();
  const bindPassword = given.bindPasswordFile === undefined ? await ask.secret('Service account password (hidden)', checkBindPassword) : undefined;
  const scopeGroupDN = given.scopeGroupDN ?? (optional(await ask.text('Group allowed to use self-service (DN, blank: everyone)', checkScopeGroup)));
  const smtpHost = given.smtpHost ?? (await ask.text('SMTP server for codes and notices', checkHost)).trim();
  const smtpPort = given.smtpPort ?? Number(await ask.text('SMTP port', checkPort, '587'));
  const smtpFrom = given.smtpFrom ?? (await ask.text('Sender address (e.g. IT <it@corp.example>)', checkSender)).trim();
  const smtpCaFile = given.smtpCaFile ?? optionalPath(await ask.text("CA certificate file for the SMTP server (blank: the system's CAs)", checkCaFile));

  const options: InitOptions = {
    dir,
    tenant,
    relayUrl,
    ldapUrls,
    baseDN,
    bindDN,
    bindPasswordFile: given.bindPasswordFile ?? BIND_PASSWORD_FILE,
    ldapCaFile,
    scopeGroupDN,
    smtpHost,
    smtpPort,
    smtpFrom,
    smtpRequireTLS: given.smtpRequireTLS ?? true,
    smtpCaFile,
    force,
  };
  say(summary(options, bindPassword !== undefined));
  if (!(await ask.yesNo('Write these files?', true))) return { written: false, reason: 'not confirmed' };
  return bindPassword === undefined ? { written: true, options } : { written: true, options, bindPassword };
}

/** What is about to be written, without the password. */
export function summary(o: InitOptions, passwordTyped: boolean): string {
  const dir = resolve(o.dir);
  const rows: Array<[string, string]> = [
    ['folder', `${dir} (agent.yaml, tenant.secret, keys/${passwordTyped ? `, ${BIND_PASSWORD_FILE}` : ''})`],
    ['tenant', o.tenant],
    ['relay', o.relayUrl],
    ['domain controllers', o.ldapUrls.join(', ')],
    ['LDAPS CA', o.ldapCaFile ?? "the system's CAs"],
    ['base DN', o.baseDN],
    ['service account', o.bindDN],
    ['its password', passwordTyped ? `as typed, into ${join(dir, BIND_PASSWORD_FILE)} (mode 0600)` : `read from ${o.bindPasswordFile}`],
    ['self-service for', o.scopeGroupDN ? `members of ${o.scopeGroupDN}` : 'everyone under the base DN'],
    ['SMTP', `${o.smtpHost}:${o.smtpPort}, ${o.smtpRequireTLS ? 'TLS required' : 'TLS not required'}`],
    ['SMTP CA', o.smtpCaFile ?? "the system's CAs"],
    ['sender', o.smtpFrom],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `\nAbout to write:\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n\n`;
}

function optional(answer: string): string | undefined {
  return answer.trim() || undefined;
}

function optionalPath(answer: string): string | undefined {
  const path = optional(answer);
  return path === undefined ? undefined : resolve(path);
}
