/**
 * `unlatch-agent remind [--dry-run] [--json]`: one reminder run now, from the command line —
 * the same run the agent's timer makes (it shares the state file and takes the same lock, so
 * the two never both send). `--dry-run` lists who would get which reminder and changes nothing.
 */
import type { AgentConfig } from '../config.ts';
import { readSecret } from '../config.ts';
import { DirectoryError } from '../directory/index.ts';
import { EventLog } from '../events.ts';
import { createLogger } from '../log.ts';
import { createMailer } from '../notify/mailer.ts';
import { directoryFromConfig } from '../wiring.ts';
import { runReminders, RemindersBusyError, type ReminderOutcome, type ReminderRunResult } from './index.ts';

export interface RemindCommandOptions {
  dryRun: boolean;
  json: boolean;
  now?: () => number;
}

const LABEL: Record<ReminderOutcome['status'], string> = {
  sent: 'sent',
  failed: 'FAILED',
  would_send: 'would send',
  already_sent: 'already sent',
  no_mail: 'no mail',
};

function table(result: ReminderRunResult): string {
  const lines = result.outcomes.map((o) => {
    const when = `${o.expiresAt.slice(0, 16).replace('T', ' ')} UTC (${o.daysLeft} day${o.daysLeft === 1 ? '' : 's'} left)`;
    return `${LABEL[o.status].padEnd(12)} ${`${o.threshold}-day`.padEnd(7)} ${(o.to ?? '-').padEnd(30)} ${o.dn}  expires ${when}${o.error ? `: ${o.error}` : ''}`;
  });
  const parts = result.dryRun
    ? [`${result.outcomes.filter((o) => o.status === 'would_send').length} would be sent`]
    : [`${result.sent} sent`, ...(result.failed ? [`${result.failed} failed`] : [])];
  parts.push(`${result.alreadySent} already reminded`, `${result.noMail} without mail`);
  lines.push(`${result.checked} users checked (in scope, password can expire): ${result.due} due — ${parts.join(', ')}.`);
  return `${result.dryRun ? 'Dry run: nothing is sent or recorded.\n' : ''}${lines.join('\n')}\n`;
}

/** Exit status: 0 done, 1 a send or the run failed, 2 reminders not set up. */
export async function remindCommand(config: AgentConfig, o: RemindCommandOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const r = config.reminders;
  if (!r.link) {
    err('unlatch-agent remind: set reminders.link (the https:// address where people change their password)\n');
    return 2;
  }
  if (!r.enabled && !o.dryRun) {
    err('unlatch-agent remind: reminders.enabled is false; turn it on, or preview with --dry-run\n');
    return 2;
  }
  const directory = directoryFromConfig(config);
  const mailer = o.dryRun ? undefined : createMailer(config.smtp, config.smtp.password ? readSecret(config.smtp.password, 'smtp.password') : undefined);
  // Events go to stderr as the agent's do; this process never writes the audit log (the
  // running agent owns it), and reminder events are not audit records anyway.
  const events = new EventLog(createLogger(config.log.level));
  try {
    const result = await runReminders(
      { days: r.days, link: r.link, hour: r.hour, stateFile: r.stateFile as string },
      {
        expiries: () => directory.passwordExpiries(),
        send: async (to, message) => {
          await mailer?.sendNotice([to], message);
        },
        emit: (name, fields) => events.emit(name, fields),
        now: o.now ?? Date.now,
      },
      { dryRun: o.dryRun },
    );
    out(o.json ? `${JSON.stringify(result)}\n` : table(result));
    return result.failed ? 1 : 0;
  } catch (e) {
    if (e instanceof RemindersBusyError) err(`unlatch-agent remind: ${e.message}; try again when it has finished\n`);
    else if (e instanceof DirectoryError) err(`unlatch-agent remind: ${e.message} (${e.code}: ${e.detail})\n`);
    else err(`unlatch-agent remind: ${(e as Error).message}\n`);
    return 1;
  } finally {
    mailer?.close();
    await directory.close();
  }
}
