/**
 * Password-expiry reminders: people in scope whose password expires within one of the
 * configured numbers of days (`reminders.days`, default 14, 7, 1) get an e-mail with the link
 * where they change it — one per threshold per password, never a secret in it.
 *
 *   const r = await runReminders(settings, { expiries, send, emit, now });   // one run
 *   const s = new ReminderScheduler(settings, deps); s.start();             // the agent's timer
 *
 * A user whose password expires in 5 days is due for the 7-day reminder (the smallest threshold
 * that is ≥ the days left); when the 1-day threshold is reached they get that one too. Someone
 * first seen with 5 days left gets the 7-day reminder only, not a late 14-day one too. Expired
 * passwords get none (people at the sign-in page are handled by the extension), nor do
 * disabled, protected, "never expires" and "must change" accounts (see directory/expiry.ts).
 * Mail goes only to the `mail` attribute on file. What was sent is kept in ./state.ts.
 */
import type { PasswordExpiry } from '../directory/index.ts';
import type { EventFields, EventName } from '../events.ts';
import { lockReminders, RemindersBusyError, ReminderState } from './state.ts';

export { RemindersBusyError, ReminderStateError } from './state.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

export interface ReminderSettings {
  /** Thresholds in days, e.g. [14, 7, 1]. */
  days: readonly number[];
  /** https:// address where people change their password. */
  link: string;
  /** Only run during this local hour (0-23); any hour when undefined. */
  hour?: number | undefined;
  /** JSON file of the reminders sent. */
  stateFile: string;
}

export interface ReminderDeps {
  /** Users in scope whose password can expire (Directory.passwordExpiries). */
  expiries(): Promise<PasswordExpiry[]>;
  /** Hands one message to the mail server. */
  send(to: string, message: ReminderMessage): Promise<void>;
  emit(name: EventName, fields: EventFields): void;
  now(): number;
}

export interface ReminderMessage {
  subject: string;
  text: string;
}

export type ReminderStatus = 'sent' | 'failed' | 'would_send' | 'already_sent' | 'no_mail';

export interface ReminderOutcome {
  dn: string;
  sam: string;
  /** The address it went (or would go) to. */
  to?: string;
  threshold: number;
  expiresAt: string;
  /** Whole days left (0: less than a day). */
  daysLeft: number;
  status: ReminderStatus;
  error?: string;
}

export interface ReminderRunResult {
  dryRun: boolean;
  /** Users in scope whose password can expire. */
  checked: number;
  /** Of those, within a threshold now. */
  due: number;
  sent: number;
  failed: number;
  alreadySent: number;
  noMail: number;
  outcomes: ReminderOutcome[];
}

/** The threshold a password expiring at `expiresAt` is due for now, or undefined (not yet, or expired). */
export function dueThreshold(expiresAt: number, now: number, days: readonly number[]): number | undefined {
  const left = expiresAt - now;
  if (left <= 0) return undefined;
  return [...days].sort((a, b) => a - b).find((d) => left <= d * DAY_MS);
}

/** "2026-12-01 08:00 UTC" */
function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function inHowLong(leftMs: number): string {
  const days = Math.floor(leftMs / DAY_MS);
  if (days >= 1) return `in ${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.max(1, Math.ceil(leftMs / HOUR_MS));
  return `within ${hours} hour${hours === 1 ? '' : 's'}`;
}

/** The reminder mail. It holds the account name, the expiry time and the link: nothing secret. */
export function renderReminder(user: Pick<PasswordExpiry, 'sam' | 'upn' | 'displayName'>, expiresAt: Date, now: number, link: string): ReminderMessage {
  const left = inHowLong(expiresAt.getTime() - now);
  const account = user.upn ?? user.sam;
  return {
    subject: `Your password expires ${left}`,
    text:
      `Hello ${user.displayName ?? user.sam},\n\n` +
      `the password of your account ${account} expires ${left}, on ${when(expiresAt)}.\n\n` +
      `Change it before then, here:\n${link}\n\n` +
      'Once it has expired you cannot sign in until it is changed.\n\n' +
      'This is an automatic reminder. It never asks for your password; you do not need to answer it.\n',
  };
}

/**
 * One run: reads the users, sends what is due and not sent yet, records each send at once (a
 * crash never makes anyone get the same reminder twice). `dryRun` sends nothing, writes nothing
 * and emits nothing: it only reports what a run would do now.
 */
export async function runReminders(settings: ReminderSettings, deps: ReminderDeps, options: { dryRun?: boolean } = {}): Promise<ReminderRunResult> {
  const dryRun = options.dryRun ?? false;
  const release = dryRun ? () => {} : lockReminders(settings.stateFile);
  try {
    const state = ReminderState.load(settings.stateFile);
    const users = await deps.expiries();
    const now = deps.now();
    const result: ReminderRunResult = { dryRun, checked: users.length, due: 0, sent: 0, failed: 0, alreadySent: 0, noMail: 0, outcomes: [] };
    if (!dryRun) {
      const current = new Map(users.map((u) => [u.dn.toLowerCase(), u.pwdLastSet]));
      state.prune(current, now, (Math.max(...settings.days) + 7) * DAY_MS);
      // Also proves the state file can be written before any mail goes out: a run that could
      // not record its sends would send them again every hour.
      state.save();
    }
    for (const u of users) {
      if (!u.expiresAt) continue;
      const threshold = dueThreshold(u.expiresAt.getTime(), now, settings.days);
      if (threshold === undefined) continue;
      result.due++;
      const leftMs = u.expiresAt.getTime() - now;
      const base = { dn: u.dn, sam: u.sam, threshold, expiresAt: u.expiresAt.toISOString(), daysLeft: Math.floor(leftMs / DAY_MS) };
      if (state.sentAtOrBelow(u.dn, u.pwdLastSet, threshold)) {
        result.alreadySent++;
        result.outcomes.push({ ...base, status: 'already_sent' });
        continue;
      }
      const to = u.mail[0];
      if (!to) {
        result.noMail++;
        result.outcomes.push({ ...base, status: 'no_mail' });
        continue;
      }
      if (dryRun) {
        result.outcomes.push({ ...base, to, status: 'would_send' });
        continue;
      }
      try {
        await deps.send(to, renderReminder(u, u.expiresAt, now, settings.link));
      } catch (err) {
        const error = (err as Error).message ?? String(err);
        result.failed++;
        result.outcomes.push({ ...base, to, status: 'failed', error });
        deps.emit('ExpiryReminderFail', { user: u.dn, threshold, error });
        continue;
      }
      state.record({ dn: u.dn, pwdLastSet: u.pwdLastSet, threshold, at: new Date(deps.now()).toISOString() });
      state.save();
      result.sent++;
      result.outcomes.push({ ...base, to, status: 'sent' });
      deps.emit('ExpiryReminderSent', { user: u.dn, threshold, daysLeft: base.daysLeft, expires: base.expiresAt });
    }
    if (!dryRun) {
      const { checked, due, sent, failed, alreadySent, noMail } = result;
      deps.emit('ExpiryRemindersDone', { checked, due, sent, failed, alreadySent, noMail });
    }
    return result;
  } catch (err) {
    if (!dryRun && !(err instanceof RemindersBusyError)) {
      const e = err as Error & { code?: unknown; detail?: unknown };
      deps.emit('ExpiryRemindersFail', {
        error: typeof e.detail === 'string' ? e.detail : (e.message ?? String(err)),
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
      });
    }
    throw err;
  } finally {
    release();
  }
}

/** Is a scheduled run due? Hourly, or once a day in `hour` (local time) when set. */
export function shouldRun(lastRunAt: number | undefined, now: number, hour: number | undefined): boolean {
  if (hour === undefined) return lastRunAt === undefined || now - lastRunAt >= 55 * MINUTE_MS;
  if (new Date(now).getHours() !== hour) return false;
  return lastRunAt === undefined || new Date(lastRunAt).toDateString() !== new Date(now).toDateString();
}

export interface SchedulerOptions {
  /** How often to look whether a run is due. Default 5 min. */
  tickMs?: number;
  /** The first look after start. Default 60 s (a restart loop does not mean a run each time). */
  firstRunMs?: number;
  /** Told about skipped runs (another run holds the lock). */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** The agent's timer. Runs never overlap; a failed run was already reported as an event. */
export class ReminderScheduler {
  private tickTimer: NodeJS.Timeout | undefined;
  private firstTimer: NodeJS.Timeout | undefined;
  private lastRunAt: number | undefined;
  private running: Promise<ReminderRunResult> | undefined;

  constructor(
    private readonly settings: ReminderSettings,
    private readonly deps: ReminderDeps,
    private readonly options: SchedulerOptions = {},
  ) {}

  start(): void {
    this.firstTimer = setTimeout(() => void this.tick(), this.options.firstRunMs ?? 60_000);
    this.firstTimer.unref();
    this.tickTimer = setInterval(() => void this.tick(), this.options.tickMs ?? 5 * MINUTE_MS);
    this.tickTimer.unref();
  }

  /** Runs now (whatever the hour). A run already under way is joined, not doubled. */
  runNow(options: { dryRun?: boolean } = {}): Promise<ReminderRunResult> {
    if (options.dryRun) return runReminders(this.settings, this.deps, { dryRun: true });
    if (this.running) return this.running;
    this.lastRunAt = this.deps.now();
    const run = runReminders(this.settings, this.deps).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Stops the timer and waits for a run under way (so the directory is not closed under it). */
  async stop(): Promise<void> {
    clearTimeout(this.firstTimer);
    clearInterval(this.tickTimer);
    await this.running?.catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.running || !shouldRun(this.lastRunAt, this.deps.now(), this.settings.hour)) return;
    try {
      await this.runNow();
    } catch (err) {
      if (err instanceof RemindersBusyError) this.options.log?.('reminders: skipped, another run holds the lock', { error: err.message });
      // Anything else was emitted as ExpiryRemindersFail by runReminders.
    }
  }
}
