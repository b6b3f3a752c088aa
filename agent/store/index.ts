/**
 * The agent's state, behind one interface: registrations, one-time codes, throttle counters and
 * send caps. The default implementation is an embedded SQLite database (./sqlite.ts); a server
 * database (PostgreSQL) can implement the same interface later, so that several agents of one
 * tenant share it, without touching the gates.
 *
 * Every operation that decides something under concurrency is atomic *in the store*
 * (consumeCode, addAttempt, addToCounter, advanceTotpStep), never read-then-write in the caller,
 * so the gates stay correct when the calls interleave or come from several agents.
 *
 * The store keeps no secret in the clear: callers hand it digests (codes, answers) and sealed
 * blobs (TOTP secrets, contact data; see ./keys.ts). Session state is not here: it lives in the
 * agent that opened the session.
 */

export type CodeCheck = 'ok' | 'wrong' | 'expired';

/** A method a person registered (verified) themselves. */
export interface StoredMethod {
  /** Random id, also shown to the person (to remove it). */
  id: string;
  method: 'email' | 'sms' | 'voice' | 'totp';
  /** Sealed contact data (address or E.164 number); absent for TOTP. */
  contact?: Buffer;
  /** Sealed TOTP secret; absent for other methods. */
  secret?: Buffer;
  /** The last TOTP time step accepted (replay protection). */
  lastStep: number;
  created: number;
}

/** A security-question answer: only the memory-hard hash is stored. */
export interface StoredAnswer {
  question: string;
  hash: Buffer;
}

export interface Registration {
  methods: StoredMethod[];
  answers: StoredAnswer[];
  /** When the person last registered or confirmed their data; null when never. */
  confirmedAt: number | null;
}

export interface AgentStore {
  /** 'sqlite' (more kinds later). */
  readonly kind: string;

  /** Stores the digest of a fresh code for `slot`, replacing (voiding) any earlier one. */
  putCode(slot: string, digest: Buffer, expires: number): Promise<void>;
  /** Checks and, on a match, deletes the code in one atomic step: one `ok` per code, ever. */
  consumeCode(slot: string, digest: Buffer, now: number): Promise<CodeCheck>;

  /** Records one attempt of `kind` for `subject` and returns its id and how many there are since `since` (itself included). */
  addAttempt(subject: string, kind: string, at: number, since: number): Promise<{ id: number; count: number }>;
  /** Takes back an attempt that turned out to be a success. */
  removeAttempt(id: number): Promise<void>;
  countAttempts(subject: string, kind: string, since: number): Promise<number>;
  /** 0 when not blocked. */
  blockedUntil(subject: string): Promise<number>;
  /** Blocks until `until` (a later existing block is kept). */
  block(subject: string, until: number, why: string): Promise<void>;

  /** Adds one to a counter that resets at `resetsAt`, unless it already reached `max`; true when added. */
  addToCounter(name: string, max: number, now: number, resetsAt: number): Promise<boolean>;
  counterValue(name: string, now: number): Promise<number>;

  registration(subject: string): Promise<Registration>;
  addMethod(subject: string, method: StoredMethod, now: number): Promise<void>;
  /** false when the person has no such method. */
  removeMethod(subject: string, id: string, now: number): Promise<boolean>;
  /** Replaces the person's answers. */
  setAnswers(subject: string, answers: StoredAnswer[], now: number): Promise<void>;
  /** "Looks good": the person confirmed their data as it is. */
  confirm(subject: string, now: number): Promise<void>;
  /** Accepts TOTP time step `step` for method `id` only when it is newer than the last accepted one (atomic). */
  advanceTotpStep(subject: string, id: string, step: number): Promise<boolean>;

  /** Drops expired codes, old attempts, lifted blocks and stale counters. */
  sweep(now: number, keepAttemptsMs: number): Promise<void>;
  close(): Promise<void>;
}

export { openSqliteStore } from './sqlite.ts';
export { StoreKeys } from './keys.ts';
