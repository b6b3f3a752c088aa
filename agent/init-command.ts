/**
 * `unlatch-agent init`: the flags path (scripts, CI: every required value as a flag, exit 2
 * naming the missing ones) and, in a terminal, the dialogue that asks for what the flags left out.
 * Both end in initAgent and print the same thing.
 */
import { EventLog } from './events.ts';
import { initAgent, writeBindPassword, type InitOptions, type InitResult } from './init.ts';
import { askInitOptions, terminalPrompter } from './init-dialogue.ts';
import { createLogger } from './log.ts';

/** The init flags as parseArgs returns them (undefined: not given). */
export interface InitFlags {
  dir?: string | undefined;
  tenant?: string | undefined;
  'relay-url'?: string | undefined;
  'ldap-url'?: string[] | undefined;
  'base-dn'?: string | undefined;
  'bind-dn'?: string | undefined;
  'bind-password-file'?: string | undefined;
  'ldap-ca-file'?: string | undefined;
  'scope-group'?: string | undefined;
  'smtp-host'?: string | undefined;
  'smtp-port'?: string | undefined;
  'smtp-from'?: string | undefined;
  'smtp-ca-file'?: string | undefined;
  'smtp-no-tls'?: boolean | undefined;
  force?: boolean | undefined;
  interactive?: boolean | undefined;
  'no-input'?: boolean | undefined;
}

const REQUIRED = ['dir', 'tenant', 'relay-url', 'ldap-url', 'base-dn', 'bind-dn', 'bind-password-file', 'smtp-host', 'smtp-from'] as const;

export interface Terminal {
  /** Both stdin and stdout are terminals: someone is there to answer. */
  interactive: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

export function processTerminal(): Terminal {
  return {
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  };
}

export async function initCommand(flags: InitFlags, usage: string, term: Terminal = processTerminal()): Promise<number> {
  if (flags.interactive && flags['no-input']) {
    term.err(`unlatch-agent init: give at most one of --interactive and --no-input\n\n${usage}`);
    return 2;
  }
  if (flags.interactive && !term.interactive) {
    term.err(`unlatch-agent init: --interactive needs a terminal on stdin and stdout; without one, give every value as a flag\n\n${usage}`);
    return 2;
  }
  const missing = REQUIRED.filter((k) => flags[k] === undefined);
  const ask = !flags['no-input'] && term.interactive && (flags.interactive || missing.length > 0);
  if (!ask) {
    // Scripts and CI: exactly as before the dialogue existed.
    if (missing.length) {
      term.err(`unlatch-agent init: missing ${missing.map((m) => `--${m}`).join(', ')}\n\n${usage}`);
      return 2;
    }
    const result = await initAgent({ ...(givenOptions(flags) as InitOptions), smtpPort: Number(flags['smtp-port'] ?? '587') }, new EventLog(createLogger()));
    term.out(printout(result));
    return 0;
  }

  let answers;
  try {
    answers = await askInitOptions(givenOptions(flags), terminalPrompter, term.out);
  } catch (err) {
    // Ctrl-C or a closed terminal in the middle of a question: nothing has been written yet.
    if (!(err instanceof Error && err.name === 'ExitPromptError')) throw err;
    term.out('\n'); // the question is left on the line
    answers = { written: false as const, reason: 'interrupted' };
  }
  if (!answers.written) {
    term.out(`Nothing was written (${answers.reason}).\n`);
    return 1;
  }
  if (answers.bindPassword !== undefined) writeBindPassword(answers.options.dir, answers.options.bindPasswordFile, answers.bindPassword);
  const result = await initAgent(answers.options, new EventLog(createLogger()));
  term.out(`${printout(result)}\nCheck the DCs, the service account's rights, the relay and SMTP: unlatch-agent doctor --config ${result.configPath}\n`);
  return 0;
}

/** Only the values the flags gave, so the dialogue knows what is left to ask. */
function givenOptions(flags: InitFlags): Partial<InitOptions> {
  const given: Partial<InitOptions> = {
    dir: flags.dir,
    tenant: flags.tenant,
    relayUrl: flags['relay-url'],
    ldapUrls: flags['ldap-url'],
    baseDN: flags['base-dn'],
    bindDN: flags['bind-dn'],
    bindPasswordFile: flags['bind-password-file'],
    ldapCaFile: flags['ldap-ca-file'],
    scopeGroupDN: flags['scope-group'],
    smtpHost: flags['smtp-host'],
    smtpPort: flags['smtp-port'] === undefined ? undefined : Number(flags['smtp-port']),
    smtpFrom: flags['smtp-from'],
    smtpRequireTLS: !flags['smtp-no-tls'],
    smtpCaFile: flags['smtp-ca-file'],
    force: flags.force ?? false,
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<InitOptions>;
}

/** What the relay operator and the browser admin need; the same for both paths. */
function printout(result: InitResult): string {
  return (
    `Wrote ${result.configPath}\n\n` +
    `Relay operator: add this under "tenants:" in the relay config:\n${indent(result.relayEntry)}\n\n` +
    `Browser policy: pin the agent's signing key:\n  signingKeyPin: ${result.pin}\n\n` +
    policyText(result) +
    `Ready-to-deploy Chrome, Edge and Firefox policy for another relay address: unlatch-agent policy --config ${result.configPath} --relay-url <public wss:// URL of the relay> --out DIR\n` +
    `Then start the agent: unlatch-agent run --config ${result.configPath}\n`
  );
}

function policyText(result: InitResult): string {
  if ('error' in result.policy) return `No browser policy was written: ${result.policy.error}.\n`;
  return (
    `Browser policy written to ${result.policy.dir}/ (Chrome and Edge: JSON and .reg; Firefox: policies.json). The extension's settings in it:\n` +
    `${indent(JSON.stringify(result.policy.settings, null, 2))}\n`
  );
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
