/**
 * What reminders were sent: a small JSON file (mode 0600) beside the audit log, so that each
 * person gets one mail per threshold per password, across restarts and `unlatch-agent remind`.
 *
 * An entry is keyed by user DN + pwdLastSet + threshold: a new password (new pwdLastSet) starts
 * a fresh series by itself, and entries of old passwords are dropped when the user is next seen.
 * The file is replaced atomically (written beside, fsynced, renamed, folder fsynced), so a crash
 * leaves the old or the new state, never half of one. A lock file (O_EXCL, holding the pid)
 * keeps the running agent and `unlatch-agent remind` from running at the same time.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SentReminder {
  dn: string;
  pwdLastSet: string;
  threshold: number;
  /** ISO time it was handed to the SMTP server. */
  at: string;
}

export interface ReminderStateData {
  version: 1;
  sent: Record<string, SentReminder>;
}

export class ReminderStateError extends Error {
  override readonly name = 'ReminderStateError';
}

/** Another run (the agent's timer or `unlatch-agent remind`) holds the lock. */
export class RemindersBusyError extends Error {
  override readonly name = 'RemindersBusyError';
}

export function reminderKey(dn: string, pwdLastSet: string, threshold: number): string {
  return `${dn.toLowerCase()}|${pwdLastSet}|${threshold}`;
}

export class ReminderState {
  private constructor(
    readonly path: string,
    private readonly data: ReminderStateData,
  ) {}

  /** Reads the file; a missing file is an empty state. A damaged one is an error (never silently resent). */
  static load(path: string): ReminderState {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new ReminderState(path, { version: 1, sent: {} });
      throw new ReminderStateError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new ReminderStateError(`${path}: not valid JSON; move it aside to start afresh (people may get a reminder again)`, { cause: err });
    }
    const d = data as Partial<ReminderStateData> | null;
    if (!d || d.version !== 1 || typeof d.sent !== 'object' || d.sent === null) {
      throw new ReminderStateError(`${path}: not a reminder state file (version 1)`);
    }
    return new ReminderState(path, { version: 1, sent: d.sent });
  }

  has(key: string): boolean {
    return Object.hasOwn(this.data.sent, key);
  }

  /** A reminder for this password at this threshold or a closer one was sent already. */
  sentAtOrBelow(dn: string, pwdLastSet: string, threshold: number): boolean {
    const prefix = `${dn.toLowerCase()}|${pwdLastSet}|`;
    return Object.keys(this.data.sent).some((k) => k.startsWith(prefix) && Number(k.slice(prefix.length)) <= threshold);
  }

  record(entry: SentReminder): void {
    this.data.sent[reminderKey(entry.dn, entry.pwdLastSet, entry.threshold)] = entry;
  }

  /**
   * Drops entries of passwords that have since changed (`current`: DN → pwdLastSet of the users
   * just read) and entries older than `maxAgeMs` (users who left scope or were deleted).
   * Returns how many were dropped.
   */
  prune(current: ReadonlyMap<string, string>, now: number, maxAgeMs: number): number {
    let dropped = 0;
    for (const [key, entry] of Object.entries(this.data.sent)) {
      const pwd = current.get(entry.dn.toLowerCase());
      const old = now - Date.parse(entry.at) > maxAgeMs;
      if ((pwd !== undefined && pwd !== entry.pwdLastSet) || old || Number.isNaN(Date.parse(entry.at))) {
        delete this.data.sent[key];
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return Object.keys(this.data.sent).length;
  }

  /** Replaces the file atomically. */
  save(): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.data, null, 1)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    // The rename itself must survive a power loss too.
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/** Locks this process holds: a lock file naming our own pid but not in here is a previous life's (pid reuse in containers). */
const heldHere = new Set<string>();

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<stateFile>.lock` (created exclusively, holding this pid); returns its release. A lock
 * left by a process that is gone is taken over. Throws RemindersBusyError while a live process
 * (this one included) holds it.
 */
export function lockReminders(stateFile: string): () => void {
  const path = `${stateFile}.lock`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(path);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(path);
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        // Vanished between open and read: try again.
      }
      const ours = pid === process.pid;
      if (Number.isInteger(pid) && pid > 0 && (ours ? heldHere.has(path) : alive(pid))) {
        throw new RemindersBusyError(`another reminder run (pid ${pid}) is in progress (${path})`);
      }
      // No pid yet: its owner may be between creating and writing it. Only an old one is stale.
      if (!Number.isInteger(pid) && Date.now() - mtimeMs(path) < 60_000) {
        throw new RemindersBusyError(`another reminder run is starting (${path})`);
      }
      try {
        unlinkSync(path);
      } catch {
        // Someone else took it over first; the next attempt tells.
      }
    }
  }
  throw new RemindersBusyError(`could not take ${path}`);
}
