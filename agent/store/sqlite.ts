/**
 * The embedded store: one SQLite file (better-sqlite3), WAL mode, created 0600. better-sqlite3
 * is synchronous, so each method below runs to completion before any other JavaScript: every
 * operation is atomic within the agent, and the conditional statements (DELETE … WHERE digest,
 * UPDATE … WHERE value < max) keep them atomic against other processes sharing the file too.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AgentStore, CodeCheck, Registration, StoredAnswer, StoredMethod } from './index.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS codes (slot TEXT PRIMARY KEY, digest BLOB NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_by_subject ON attempts (subject, kind, at);
CREATE TABLE IF NOT EXISTS blocks (subject TEXT PRIMARY KEY, until INTEGER NOT NULL, why TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL, resets_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS registrations (subject TEXT PRIMARY KEY, confirmed_at INTEGER, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS methods (
  id TEXT PRIMARY KEY, subject TEXT NOT NULL, method TEXT NOT NULL,
  contact BLOB, secret BLOB, last_step INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS methods_by_subject ON methods (subject);
CREATE TABLE IF NOT EXISTS answers (subject TEXT NOT NULL, question TEXT NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (subject, question));
`;

interface MethodRow {
  id: string;
  method: StoredMethod['method'];
  contact: Buffer | null;
  secret: Buffer | null;
  last_step: number;
  created: number;
}

/**
 * Opens (creating when needed) the database at `file`; ':memory:' for a throwaway one.
 * `readonly` opens an existing database for reading only (reports), beside a running agent.
 */
export function openSqliteStore(file: string, options: { readonly?: boolean } = {}): AgentStore {
  if (options.readonly) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return new SqliteStore(db);
  }
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Create it 0600 before SQLite does (SQLite would use the umask).
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  const version = (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value;
  if (version === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
  else if (Number(version) > SCHEMA_VERSION) {
    db.close();
    throw new Error(`store: ${file} was written by a newer agent (schema ${version}); upgrade this agent`);
  }
  return new SqliteStore(db);
}

class SqliteStore implements AgentStore {
  readonly kind = 'sqlite';
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      putCode: db.prepare('INSERT INTO codes (slot, digest, expires) VALUES (?, ?, ?) ON CONFLICT (slot) DO UPDATE SET digest = excluded.digest, expires = excluded.expires'),
      takeCode: db.prepare('DELETE FROM codes WHERE slot = ? AND digest = ? AND expires > ?'),
      codeLive: db.prepare('SELECT 1 FROM codes WHERE slot = ? AND expires > ?'),
      addAttempt: db.prepare('INSERT INTO attempts (subject, kind, at) VALUES (?, ?, ?)'),
      countAttempts: db.prepare('SELECT COUNT(*) AS n FROM attempts WHERE subject = ? AND kind = ? AND at > ?'),
      removeAttempt: db.prepare('DELETE FROM attempts WHERE id = ?'),
      blockedUntil: db.prepare('SELECT until FROM blocks WHERE subject = ?'),
      block: db.prepare('INSERT INTO blocks (subject, until, why) VALUES (?, ?, ?) ON CONFLICT (subject) DO UPDATE SET until = MAX(until, excluded.until), why = excluded.why'),
      resetCounter: db.prepare('DELETE FROM counters WHERE name = ? AND resets_at <= ?'),
      bumpCounter: db.prepare(
        'INSERT INTO counters (name, value, resets_at) VALUES (?, 1, ?) ON CONFLICT (name) DO UPDATE SET value = value + 1 WHERE value < ?',
      ),
      counter: db.prepare('SELECT value FROM counters WHERE name = ? AND resets_at > ?'),
      methods: db.prepare('SELECT id, method, contact, secret, last_step, created FROM methods WHERE subject = ? ORDER BY created, id'),
      answers: db.prepare('SELECT question, hash FROM answers WHERE subject = ? ORDER BY question'),
      registration: db.prepare('SELECT confirmed_at FROM registrations WHERE subject = ?'),
      touch: db.prepare(
        'INSERT INTO registrations (subject, confirmed_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (subject) DO UPDATE SET confirmed_at = excluded.confirmed_at, updated_at = excluded.updated_at',
      ),
      addMethod: db.prepare('INSERT INTO methods (id, subject, method, contact, secret, last_step, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      removeMethod: db.prepare('DELETE FROM methods WHERE subject = ? AND id = ?'),
      clearAnswers: db.prepare('DELETE FROM answers WHERE subject = ?'),
      addAnswer: db.prepare('INSERT INTO answers (subject, question, hash) VALUES (?, ?, ?)'),
      advanceStep: db.prepare("UPDATE methods SET last_step = ? WHERE subject = ? AND id = ? AND method = 'totp' AND last_step < ?"),
      sweepCodes: db.prepare('DELETE FROM codes WHERE expires <= ?'),
      sweepAttempts: db.prepare('DELETE FROM attempts WHERE at <= ?'),
      sweepBlocks: db.prepare('DELETE FROM blocks WHERE until <= ?'),
      sweepCounters: db.prepare('DELETE FROM counters WHERE resets_at <= ?'),
    };
  }

  async putCode(slot: string, digest: Buffer, expires: number): Promise<void> {
    this.q.putCode.run(slot, digest, expires);
  }

  async consumeCode(slot: string, digest: Buffer, now: number): Promise<CodeCheck> {
    if (this.q.takeCode.run(slot, digest, now).changes === 1) return 'ok';
    return this.q.codeLive.get(slot, now) ? 'wrong' : 'expired';
  }

  async addAttempt(subject: string, kind: string, at: number, since: number): Promise<{ id: number; count: number }> {
    return this.db.transaction(() => {
      const id = Number(this.q.addAttempt.run(subject, kind, at).lastInsertRowid);
      const count = (this.q.countAttempts.get(subject, kind, since) as { n: number }).n;
      return { id, count };
    }).immediate();
  }

  async removeAttempt(id: number): Promise<void> {
    this.q.removeAttempt.run(id);
  }

  async countAttempts(subject: string, kind: string, since: number): Promise<number> {
    return (this.q.countAttempts.get(subject, kind, since) as { n: number }).n;
  }

  async blockedUntil(subject: string): Promise<number> {
    return (this.q.blockedUntil.get(subject) as { until: number } | undefined)?.until ?? 0;
  }

  async block(subject: string, until: number, why: string): Promise<void> {
    this.q.block.run(subject, until, why);
  }

  async addToCounter(name: string, max: number, now: number, resetsAt: number): Promise<boolean> {
    return this.db.transaction(() => {
      this.q.resetCounter.run(name, now);
      return this.q.bumpCounter.run(name, resetsAt, max).changes === 1;
    }).immediate();
  }

  async counterValue(name: string, now: number): Promise<number> {
    return (this.q.counter.get(name, now) as { value: number } | undefined)?.value ?? 0;
  }

  async registration(subject: string): Promise<Registration> {
    return this.db.transaction(() => {
      const methods = (this.q.methods.all(subject) as MethodRow[]).map(
        (r): StoredMethod => ({
          id: r.id,
          method: r.method,
          ...(r.contact ? { contact: r.contact } : {}),
          ...(r.secret ? { secret: r.secret } : {}),
          lastStep: r.last_step,
          created: r.created,
        }),
      );
      const answers = this.q.answers.all(subject) as StoredAnswer[];
      const row = this.q.registration.get(subject) as { confirmed_at: number | null } | undefined;
      return { methods, answers, confirmedAt: row?.confirmed_at ?? null };
    }).deferred();
  }

  async addMethod(subject: string, m: StoredMethod, now: number): Promise<void> {
    this.db.transaction(() => {
      this.q.addMethod.run(m.id, subject, m.method, m.contact ?? null, m.secret ?? null, m.lastStep, m.created);
      this.q.touch.run(subject, now, now);
    }).immediate();
  }

  async removeMethod(subject: string, id: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const removed = this.q.removeMethod.run(subject, id).changes === 1;
      if (removed) this.q.touch.run(subject, now, now);
      return removed;
    }).immediate();
  }

  async setAnswers(subject: string, answers: StoredAnswer[], now: number): Promise<void> {
    this.db.transaction(() => {
      this.q.clearAnswers.run(subject);
      for (const a of answers) this.q.addAnswer.run(subject, a.question, a.hash);
      this.q.touch.run(subject, now, now);
    }).immediate();
  }

  async confirm(subject: string, now: number): Promise<void> {
    this.q.touch.run(subject, now, now);
  }

  async advanceTotpStep(subject: string, id: string, step: number): Promise<boolean> {
    return this.q.advanceStep.run(step, subject, id, step).changes === 1;
  }

  async sweep(now: number, keepAttemptsMs: number): Promise<void> {
    this.db.transaction(() => {
      this.q.sweepCodes.run(now);
      this.q.sweepAttempts.run(now - keepAttemptsMs);
      this.q.sweepBlocks.run(now);
      this.q.sweepCounters.run(now);
    }).immediate();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
