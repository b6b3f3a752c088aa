/**
 * One audit record: its fields, its canonical serialisation and its hash.
 *
 * A record is one line of the audit log: the canonical JSON of the record (keys sorted, no
 * whitespace) followed by "\n". `hash` is the lower-case hex SHA-256 of the canonical JSON of
 * every other field; one of those is `prevHash`, the previous record's `hash` (64 zeros for the
 * first record), so each hash covers the whole history before it. Changing, inserting, removing
 * or reordering any record breaks the chain at that record.
 *
 * Nothing secret is ever a field: who (DN), what (action, event), how (method), how it ended
 * (outcome, error code, policy reason), and the first characters of the session id. Never a
 * password, a one-time code, an answer, a contact address or the id a person typed.
 */
import { createHash } from 'node:crypto';

/** `prevHash` of the first record of a log. */
export const GENESIS_HASH = '0'.repeat(64);

/** Characters of the session id kept: enough to follow one session, as in the relay's logs. */
export const SID_PREFIX_LENGTH = 6;

export type AuditAction = 'reset' | 'change' | 'unlock' | 'gate' | 'registration' | 'onboarding';
export type AuditOutcome = 'start' | 'success' | 'failure' | 'blocked';

/** What the writer is given; it adds seq, time, prevHash and hash. */
export interface AuditEntry {
  /** Event number (agent/events.ts). */
  event: number;
  /** Event name, e.g. PasswordResetSuccess. */
  name: string;
  action: AuditAction;
  outcome: AuditOutcome;
  /** Stable error code (protocol/errors.ts) of a failure, or TOO_MANY_ATTEMPTS for a block. */
  code?: string;
  /**
   * Finer reason: policy rule broken, "wrong"/"expired" for a gate, "failures"/"resets" for a
   * block, what a registration change was ("added", "removed", "questions", …).
   */
  reason?: string;
  /** How the person proved who they are: gate methods ("email", "email+sms"), or "password" for a change. */
  method?: string;
  /** The user's distinguished name, when the id matched an in-scope user. */
  user?: string;
  /** Whether the id a person typed matched an in-scope user (start records). */
  known?: boolean;
  /** First characters of the session id. */
  sid?: string;
}

export interface AuditRecord extends AuditEntry {
  /** 1, 2, 3, … in file order, without gaps. */
  seq: number;
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  prevHash: string;
  hash: string;
}

type Scalar = string | number | boolean;

/** JSON with keys sorted and no whitespace: the one byte sequence a record can have. */
export function canonicalJson(value: Record<string, Scalar | undefined>): string {
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`).join(',')}}`;
}

/** The hash of a record: SHA-256 over the canonical JSON of every field but `hash`. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return createHash('sha256').update(canonicalJson(rest as unknown as Record<string, Scalar>), 'utf8').digest('hex');
}

/** The line written for a record, newline included. */
export function recordLine(record: AuditRecord): string {
  return `${canonicalJson(record as unknown as Record<string, Scalar>)}\n`;
}

/**
 * Whether the LAST line of a log is what a crash leaves of a write: no "\n" at its end (the
 * process died mid-write), or NUL bytes (power loss: the file grew but the data never reached
 * the disk). A valid record never holds a NUL byte: JSON escapes it. Only the last line can be
 * torn, because every write is synced before the next one starts.
 */
export function isTornLine(line: Buffer, complete: boolean): boolean {
  return !complete || line.includes(0);
}

const FIELD_TYPES: Record<keyof AuditRecord, 'string' | 'number' | 'boolean'> = {
  seq: 'number',
  time: 'string',
  event: 'number',
  name: 'string',
  action: 'string',
  outcome: 'string',
  code: 'string',
  reason: 'string',
  method: 'string',
  user: 'string',
  known: 'boolean',
  sid: 'string',
  prevHash: 'string',
  hash: 'string',
};
const REQUIRED: (keyof AuditRecord)[] = ['seq', 'time', 'event', 'name', 'action', 'outcome', 'prevHash', 'hash'];
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses one line (without its "\n") into a record, or says what is wrong with it. Only the
 * structure is checked here; the chain (seq, prevHash, hash) is the reader's job.
 */
export function parseRecordLine(line: Buffer | string): { record: AuditRecord } | { problem: string } {
  const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { problem: 'not valid JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { problem: 'not a JSON object' };
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const type = FIELD_TYPES[key as keyof AuditRecord];
    if (!type) return { problem: `unknown field "${key}"` };
    if (typeof obj[key] !== type) return { problem: `field "${key}" is not a ${type}` };
  }
  for (const key of REQUIRED) if (!(key in obj)) return { problem: `field "${key}" is missing` };
  const record = obj as unknown as AuditRecord;
  if (!Number.isSafeInteger(record.seq) || record.seq < 1) return { problem: 'field "seq" is not a positive integer' };
  if (!HEX64.test(record.hash) || !HEX64.test(record.prevHash)) return { problem: 'a hash is not 64 hex digits' };
  // Any byte that differs from the canonical form is a change, even one JSON.parse forgives.
  if (!Buffer.from(canonicalJson(obj as Record<string, Scalar>), 'utf8').equals(bytes)) return { problem: 'not in canonical form' };
  return { record };
}
