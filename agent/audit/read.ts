/**
 * Reading the audit log back: every record, and whether the hash chain holds.
 *
 * The rule is strict: every line must be a record in canonical form whose seq follows the
 * previous one, whose prevHash is the previous hash, and whose hash is right. The one exception
 * is a torn LAST line (see isTornLine), which a crash during a write leaves behind: it is
 * reported and ignored, and the agent cuts it off at its next start.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { AuditError } from './log.ts';
import { GENESIS_HASH, isTornLine, parseRecordLine, recordHash, type AuditRecord } from './record.ts';

export interface AuditBreak {
  /** The seq the bad record has, or should have had (its position in the chain). */
  seq: number;
  /** 1-based line number in the file. */
  line: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records that verified (before the break, if any). */
  records: number;
  /** The first record that does not verify. */
  brokenAt?: AuditBreak;
  /** A torn last line, ignored (a crash during a write). */
  tornTail?: { line: number; bytes: number };
}

/** Checks the whole chain of the log at `path`. Throws AuditError if the file cannot be read. */
export function verifyAudit(path: string): VerifyResult {
  return scan(path, undefined);
}

/**
 * Every record of the log that parses (also those after a break, for a report that still wants
 * to show them), with the verification of the chain.
 */
export function readAudit(path: string): { records: AuditRecord[]; verify: VerifyResult } {
  const records: AuditRecord[] = [];
  const verify = scan(path, (r) => records.push(r));
  return { records, verify };
}

function scan(path: string, collect: ((record: AuditRecord) => void) | undefined): VerifyResult {
  let prevHash = GENESIS_HASH;
  let verified = 0;
  let brokenAt: AuditBreak | undefined;
  let tornTail: VerifyResult['tornTail'];
  for (const { bytes, line, complete, last } of lines(path)) {
    if (last && isTornLine(bytes, complete)) {
      tornTail = { line, bytes: bytes.length + (complete ? 1 : 0) };
      break;
    }
    const parsed = parseRecordLine(bytes);
    if ('record' in parsed) collect?.(parsed.record);
    if (brokenAt) continue;
    const expected = verified + 1;
    const problem =
      'problem' in parsed
        ? parsed.problem
        : parsed.record.seq !== expected
          ? `seq is ${parsed.record.seq}, expected ${expected}`
          : parsed.record.prevHash !== prevHash
            ? expected === 1
              ? 'the first record does not start the chain (prevHash is not zero)'
              : 'prevHash is not the hash of the previous record'
            : recordHash(parsed.record) !== parsed.record.hash
              ? 'the record does not match its hash'
              : undefined;
    if (problem || !('record' in parsed)) {
      brokenAt = { seq: expected, line, reason: problem ?? 'unreadable' };
      if (!collect) break;
      continue;
    }
    verified++;
    prevHash = parsed.record.hash;
  }
  return { ok: !brokenAt, records: verified, ...(brokenAt ? { brokenAt } : {}), ...(tornTail ? { tornTail } : {}) };
}

interface Line {
  bytes: Buffer;
  /** 1-based. */
  line: number;
  /** Ended with "\n". */
  complete: boolean;
  /** The last line of the file. */
  last: boolean;
}

/** The file's lines, read a chunk at a time, each told whether it is the last one. */
function* lines(path: string): Generator<Line> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuditError(code === 'ENOENT' ? `no audit log at ${path}` : `audit log ${path}: cannot read it (${code ?? 'error'})`, { cause: err });
  }
  try {
    const chunk = Buffer.alloc(256 * 1024);
    let carry = Buffer.alloc(0);
    let pending: Buffer | undefined;
    let n = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      let data = carry.length ? Buffer.concat([carry, chunk.subarray(0, read)]) : Buffer.from(chunk.subarray(0, read));
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        // One line of look-ahead: a line is only known not to be the last once the next one exists.
        if (pending) yield { bytes: pending, line: ++n, complete: true, last: false };
        pending = data.subarray(0, nl);
        data = data.subarray(nl + 1);
      }
      carry = data;
    }
    if (pending) yield { bytes: pending, line: ++n, complete: true, last: carry.length === 0 };
    if (carry.length) yield { bytes: carry, line: ++n, complete: false, last: true };
  } finally {
    closeSync(fd);
  }
}
