/**
 * The audit log writer: append-only, hash-chained JSON lines (see ./record.ts for the format).
 *
 * Crash safety. Each record is ONE `writeSync` of the whole line, "\n" last, followed by
 * `fsyncSync`, on a file opened with O_APPEND. A crash (or power loss) can therefore damage only
 * the line being written, and only by leaving a prefix of it (or, after power loss, zeros) at the
 * end of the file, never touching earlier lines. The reader treats a last line without its "\n"
 * as such a remnant and ignores it.
 *
 * On open, a remnant is cut off (truncated back to the end of the last complete line) rather
 * than closed with a "\n". Truncating keeps the invariant that every line except possibly the
 * last one is a complete, chained record, so the reader can stay strict: a bad line anywhere
 * else is tampering or damage, never a crash. The remnant was never a record (no hash, never
 * acknowledged to its caller), and its bytes are reported to the logger before they go, so
 * nothing that happened is lost from sight.
 *
 * One process writes one file. Agents started in the same process with the same file share one
 * writer (and so one chain); two processes must never write the same file.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GENESIS_HASH, isTornLine, parseRecordLine, recordHash, recordLine, type AuditEntry, type AuditRecord } from './record.ts';

export class AuditError extends Error {
  override readonly name = 'AuditError';
}

export interface AuditLogOptions {
  /** Clock for record times. Default Date.now. */
  now?: () => number;
  /** Told when a crash remnant is cut off at open. Default: nothing. */
  onRecovered?: (info: { path: string; bytes: number; text: string }) => void;
}

const NL = 0x0a;
const CHUNK = 64 * 1024;

/** Logs open in this process, by absolute path: a second opener shares the writer. */
const openLogs = new Map<string, AuditLog>();

export class AuditLog {
  private fd: number | undefined;
  private seq: number;
  private head: string;
  /** Bytes of complete records in the file: where a failed write is cut back to. */
  private size: number;
  private readonly now: () => number;
  private refs = 1;

  private constructor(readonly path: string, fd: number, tail: { seq: number; hash: string; size: number }, now: () => number) {
    this.fd = fd;
    this.seq = tail.seq;
    this.head = tail.hash;
    this.size = tail.size;
    this.now = now;
  }

  /**
   * Opens (creating it, mode 0600) the log at `path`, cuts off a crash remnant, and reads the
   * last record to continue its chain. Throws AuditError if that last record is damaged: the
   * chain cannot be continued, and an admin must look (`unlatch-agent report --verify`).
   */
  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    const path = resolve(file);
    const shared = openLogs.get(path);
    if (shared) {
      shared.refs++;
      return shared;
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = openSync(path, 'a', 0o600);
    } catch (err) {
      throw new AuditError(`audit log ${path}: cannot open it for writing (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    try {
      const created = fstatSync(fd).size === 0;
      const tail = readTail(path, fd, options.onRecovered);
      // A new file's directory entry must survive a power loss too.
      if (created) fsyncDir(dirname(path));
      const log = new AuditLog(path, fd, tail, options.now ?? Date.now);
      openLogs.set(path, log);
      return log;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Sequence number of the last record written (0 for an empty log). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Hash of the last record (GENESIS_HASH for an empty log). */
  get lastHash(): string {
    return this.head;
  }

  /** Appends one record and makes it durable before returning it. Throws AuditError. */
  append(entry: AuditEntry): AuditRecord {
    if (this.fd === undefined) throw new AuditError(`audit log ${this.path}: already closed`);
    const unsigned: Omit<AuditRecord, 'hash'> = { ...entry, seq: this.seq + 1, time: new Date(this.now()).toISOString(), prevHash: this.head };
    const record: AuditRecord = { ...unsigned, hash: recordHash(unsigned) };
    const line = Buffer.from(recordLine(record), 'utf8');
    try {
      // writeSync may write less than asked (e.g. a full disk); the line is only done when all of it is.
      for (let off = 0; off < line.length; ) off += writeSync(this.fd, line, off, line.length - off);
      fsyncSync(this.fd);
    } catch (err) {
      // Cut the half-written line off now, so the next append starts on a fresh line.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // Still damaged: the next open cuts it off.
      }
      throw new AuditError(`audit log ${this.path}: cannot write record ${record.seq} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    this.size += line.length;
    this.seq = record.seq;
    this.head = record.hash;
    return record;
  }

  /** Closes the file once every opener has closed it. */
  close(): void {
    if (this.fd === undefined || --this.refs > 0) return;
    closeSync(this.fd);
    this.fd = undefined;
    openLogs.delete(this.path);
  }
}

/** Finds the last complete record (cutting off a remnant after it) and returns where the chain stands. */
function readTail(path: string, fd: number, onRecovered: AuditLogOptions['onRecovered']): { seq: number; hash: string; size: number } {
  const rfd = openSync(path, 'r');
  try {
    const size = fstatSync(rfd).size;
    let keep = size; // bytes of complete records
    if (size > 0) {
      const complete = byteAt(rfd, size - 1) === NL;
      const lineEnd = complete ? size - 1 : size;
      const start = lastNewlineBefore(rfd, lineEnd) + 1;
      if (isTornLine(readRange(rfd, start, lineEnd), complete)) keep = start;
    }
    if (keep < size) {
      const remnant = readRange(rfd, keep, size);
      ftruncateSync(fd, keep);
      fsyncSync(fd);
      onRecovered?.({ path, bytes: remnant.length, text: remnant.toString('utf8').replace(/\0/g, '\\0') });
    }
    if (keep === 0) return { seq: 0, hash: GENESIS_HASH, size: 0 };
    const parsed = parseRecordLine(readRange(rfd, lastNewlineBefore(rfd, keep - 1) + 1, keep - 1));
    if ('problem' in parsed) {
      throw new AuditError(
        `audit log ${path}: the last record is damaged (${parsed.problem}), so its chain cannot be continued. ` +
          'Run `unlatch-agent report --verify`, then move the file aside to start a new log (keep the old one).',
      );
    }
    if (recordHash(parsed.record) !== parsed.record.hash) {
      throw new AuditError(
        `audit log ${path}: the last record (seq ${parsed.record.seq}) does not match its hash, so its chain cannot be continued. ` +
          'Run `unlatch-agent report --verify`, then move the file aside to start a new log (keep the old one).',
      );
    }
    return { seq: parsed.record.seq, hash: parsed.record.hash, size: keep };
  } finally {
    closeSync(rfd);
  }
}

function byteAt(fd: number, pos: number): number {
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, pos);
  return b[0] as number;
}

function readRange(fd: number, start: number, end: number): Buffer {
  const b = Buffer.alloc(end - start);
  for (let off = 0; off < b.length; ) {
    const n = readSync(fd, b, off, b.length - off, start + off);
    if (n === 0) break;
    off += n;
  }
  return b;
}

/** Position of the last "\n" before `end`, or -1; reads backwards a chunk at a time. */
function lastNewlineBefore(fd: number, end: number): number {
  let pos = end;
  while (pos > 0) {
    const start = Math.max(0, pos - CHUNK);
    const i = readRange(fd, start, pos).lastIndexOf(NL);
    if (i >= 0) return start + i;
    pos = start;
  }
  return -1;
}

function fsyncDir(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Not every platform can fsync a directory; the file itself is synced on every write.
  }
}
