/**
 * `unlatch-agent doctor`: checks everything the agent depends on and explains each finding in
 * one line — what was checked, what was seen, and the fix when it is not fine. Read-only: it
 * binds and reads, opens and closes a relay connection, greets the mail server; it writes
 * nothing to AD, sends no mail and joins no session.
 *
 *   const results = await runDoctor({ configPath: 'agent.yaml' });
 *   process.stdout.write(formatDoctor(results));   // or JSON.stringify(results)
 *   process.exit(doctorExitCode(results));
 *
 * Checks run in parallel, each with a timeout (default 5 s per network step), so a run
 * finishes within seconds even when everything is down.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, loadAgentConfig, readSecret, type AgentConfig } from '../config.ts';
import { ReminderState } from '../reminders/state.ts';
import { fail, pass, skip, within, type CheckResult } from './check.ts';
import { directoryChecks } from './directory.ts';
import { relayCheck } from './relay.ts';
import { smsCheck, smsGateway } from './sms.ts';
import { smtpCheck } from './smtp.ts';
import { syslogCheck } from './syslog.ts';

export type { CheckLevel, CheckResult } from './check.ts';

export interface DoctorOptions {
  configPath: string;
  /** Timeout of each network step (connect, handshake, one LDAP request). Default 5000 ms. */
  timeoutMs?: number;
  now?: () => number;
}

const CONFIG_FIX = 'correct each value named (docs/configuration.md lists every key with its default); secrets are files readable by the agent\'s user, or environment variables';

function remindersCheck(config: AgentConfig): CheckResult {
  const r = config.reminders;
  const title = 'reminders';
  if (!r.enabled) return skip('reminders', title, 'password-expiry reminders are off (reminders.enabled)', true);
  const file = r.stateFile as string;
  try {
    accessSync(existsSync(file) ? file : dirname(file), constants.W_OK);
    ReminderState.load(file);
  } catch (err) {
    return fail('reminders', title, `the state file ${file} cannot be used: ${(err as Error).message}`, 'let the agent\'s user write reminders.stateFile and its folder (or move a damaged file aside)');
  }
  return pass('reminders', title, `on: ${r.days.join(', ')} days before expiry${r.hour !== undefined ? `, at ${r.hour}:00` : ', hourly'}, linking to ${r.link}; state in ${file}`);
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  let config: AgentConfig;
  try {
    config = loadAgentConfig(options.configPath);
  } catch (err) {
    if (err instanceof ConfigError) return [fail('config', 'config', `${options.configPath} is not valid: ${err.problems.join('; ')}`, CONFIG_FIX)];
    throw err;
  }

  // Secrets and CA files: each problem is named, and only the checks that need it are skipped.
  const problems: string[] = [];
  const secret = (ref: { file?: string | undefined; env?: string | undefined }, what: string): string | undefined => {
    try {
      return readSecret(ref, what);
    } catch (err) {
      problems.push(...(err instanceof ConfigError ? err.problems : [`${what}: ${(err as Error).message}`]));
      return undefined;
    }
  };
  const pem = (file: string | undefined, what: string): string | undefined | null => {
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return null;
    }
  };
  const bindPassword = secret(config.directory.bindPassword, 'directory.bindPassword');
  const relaySecret = secret(config.relay.secret, 'relay.secret');
  const smtpPassword = config.smtp.password ? secret(config.smtp.password, 'smtp.password') : undefined;
  const smtpPasswordOk = !config.smtp.password || smtpPassword !== undefined;
  const ldapCa = pem(config.directory.caFile, 'directory.caFile');
  const relayCa = pem(config.relay.caFile, 'relay.caFile');
  const smtpCa = pem(config.smtp.caFile, 'smtp.caFile');
  const gateway = smsGateway(config);
  const gatewayCa = pem(gateway?.caFile, 'gates.phone.gateway.caFile');

  const results: CheckResult[] = [
    problems.length
      ? fail('config', 'config', `${options.configPath} is valid, but: ${problems.join('; ')}`, CONFIG_FIX)
      : pass('config', 'config', `${options.configPath} is valid (tenant "${config.tenant}", ${config.directory.urls.length} DC${config.directory.urls.length === 1 ? '' : 's'}, relay ${config.relay.url})`),
  ];
  const notChecked = (check: string, title: string, what: string) => Promise.resolve([skip(check, title, `not checked: ${what} could not be read (see config)`, false)]);
  const cap = timeoutMs * 2;

  const [directory, relay, smtp, sms, syslog] = await Promise.all([
    bindPassword === undefined || ldapCa === null
      ? notChecked('directory', 'directory', bindPassword === undefined ? 'directory.bindPassword' : 'directory.caFile')
      : directoryChecks(config, { bindPassword, caPem: ldapCa }, timeoutMs, now),
    relaySecret === undefined || relayCa === null
      ? notChecked('relay', 'relay', relaySecret === undefined ? 'relay.secret' : 'relay.caFile')
      : within(cap, relayCheck(config, relaySecret, relayCa, timeoutMs), () => fail('relay', 'relay', `no answer from ${config.relay.url} within ${cap} ms`, 'allow outbound HTTPS to the relay')).then((r) => [r]),
    !smtpPasswordOk || smtpCa === null
      ? notChecked('smtp', 'SMTP', smtpPasswordOk ? 'smtp.caFile' : 'smtp.password')
      : within(cap, smtpCheck(config.smtp, smtpPassword, smtpCa, timeoutMs), () =>
          fail('smtp', 'SMTP', `no answer from ${config.smtp.host}:${config.smtp.port} within ${cap} ms`, `allow TCP ${config.smtp.port} from this host to ${config.smtp.host}`),
        ).then((r) => [r]),
    gatewayCa === null
      ? notChecked('sms', 'SMS gateway', 'gates.phone.gateway.caFile')
      : within(cap, smsCheck(gateway, gatewayCa, timeoutMs), () => fail('sms', 'SMS gateway', `no answer within ${cap} ms`, 'allow outbound HTTPS to the gateway')).then((r) => [r]),
    syslogCheck(config.log.syslog, timeoutMs),
  ]);
  results.push(...directory, ...relay, ...smtp, ...sms, syslog, remindersCheck(config));
  return results;
}

const SYMBOL: Record<CheckResult['level'], string> = { ok: '✔', warn: '!', fail: '✘', skip: '-' };

/** One line per check (symbol, what, what was seen, the fix), then a summary line. */
export function formatDoctor(results: readonly CheckResult[]): string {
  const lines = results.map((r) => `${SYMBOL[r.level]} ${r.title}: ${r.detail}${r.fix ? ` — fix: ${r.fix}` : ''}`);
  const count = (l: CheckResult['level']) => results.filter((r) => r.level === l).length;
  const failed = results.filter((r) => !r.ok).length;
  lines.push(
    '',
    failed
      ? `${failed} of ${results.length} checks failed${count('warn') ? `, ${count('warn')} warning${count('warn') === 1 ? '' : 's'}` : ''}.`
      : `All ${results.length} checks passed${count('warn') ? ` (${count('warn')} warning${count('warn') === 1 ? '' : 's'})` : ''}.`,
  );
  return `${lines.join('\n')}\n`;
}

/** 0 when every check is ok (warnings allowed), 2 for an invalid config, 1 for any other failure. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  if (results.some((r) => r.check === 'config' && !r.ok) && results.length === 1) return 2;
  return results.some((r) => !r.ok) ? 1 : 0;
}
