/**
 * The audit log as an auditor meets it: records appended through the agent's EventLog, a chain
 * that names the first record anyone touched, and a file that survives a crash at any moment
 * (a real child process killed with SIGKILL) with every earlier record intact.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditSink } from '../../agent/audit/events.ts';
import { AuditError, AuditLog } from '../../agent/audit/log.ts';
import { readAudit, verifyAudit } from '../../agent/audit/read.ts';
import { GENESIS_HASH, recordHash, type AuditEntry } from '../../agent/audit/record.ts';
import { EventLog } from '../../agent/events.ts';
import { createLogger } from '../../agent/log.ts';

const ROOT = new URL('../..', import.meta.url);
const SID = 'Zx9aBcDeFgHiJkLmNoPqRs';
const DN = 'CN=Zoë Example,OU=Staff,DC=corp,DC=example';

function entry(i: number): AuditEntry {
  return { event: 31002, name: 'PasswordResetSuccess', action: 'reset', outcome: 'success', method: 'email', user: `CN=User ${i},${DN}`, sid: 'Zx9aBc' };
}

/** Line boundaries of a file: [start, end) of each line without its "\n". */
function lineSpans(bytes: Buffer): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      spans.push([start, i]);
      start = i + 1;
    }
  }
  return spans;
}

describe('Audit log', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unlatch-audit-'));
    file = join(dir, 'state', 'audit.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function writeRecords(n: number, start = 0): void {
    const log = AuditLog.open(file, { now: () => Date.UTC(2026, 0, 1) + start * 1000 });
    for (let i = start; i < start + n; i++) log.append(entry(i));
    log.close();
  }

  describe('#append()', () => {
    it('writes one canonical JSON line per record, chained from zero, and verify accepts it', () => {
      writeRecords(5);
      const lines = readFileSync(file, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'the file ends with a newline');
      assert.equal(lines.length, 5);
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(records[0]?.['prevHash'], GENESIS_HASH);
      records.forEach((r, i) => {
        assert.equal(r['seq'], i + 1);
        if (i > 0) assert.equal(r['prevHash'], records[i - 1]?.['hash']);
        assert.match(r['hash'] as string, /^[0-9a-f]{64}$/);
        assert.deepEqual(Object.keys(r), Object.keys(r).sort(), 'keys are sorted');
      });
      assert.deepEqual(verifyAudit(file), { ok: true, records: 5 });
      assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    });

    it('continues the chain after a restart', () => {
      writeRecords(3);
      writeRecords(2, 3);
      const { records, verify } = readAudit(file);
      assert.deepEqual(verify, { ok: true, records: 5 });
      assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5]);
      assert.equal(records[3]?.prevHash, records[2]?.hash);
      assert.equal(records[4]?.hash, recordHash(records[4]!));
    });

    it('gives two openers in one process one writer, so their records share one chain', () => {
      const a = AuditLog.open(file);
      const b = AuditLog.open(join(dir, 'state', '..', 'state', 'audit.log'));
      assert.equal(a, b);
      a.append(entry(1));
      b.append(entry(2));
      a.close();
      b.append(entry(3));
      b.close();
      assert.throws(() => b.append(entry(4)), AuditError);
      assert.deepEqual(verifyAudit(file), { ok: true, records: 3 });
    });

    it('refuses to continue a log whose last record was changed', () => {
      writeRecords(3);
      writeFileSync(file, readFileSync(file, 'utf8').replace('CN=User 2,', 'CN=User 9,'));
      assert.throws(() => AuditLog.open(file), (err: unknown) => err instanceof AuditError && /last record \(seq 3\)/.test(err.message));
    });
  });

  describe('verifyAudit()', () => {
    it('names the record, by seq and line, when any one byte of any record is changed', () => {
      writeRecords(4);
      const original = readFileSync(file);
      const spans = lineSpans(original);
      let edits = 0;
      spans.forEach(([start, end], index) => {
        for (let pos = start; pos < end; pos++) {
          const bytes = Buffer.from(original);
          // ASCII stays ASCII; a multi-byte character's bytes become invalid UTF-8, which counts too.
          bytes[pos] = (bytes[pos] as number) ^ 0x01;
          writeFileSync(file, bytes);
          const result = verifyAudit(file);
          assert.equal(result.ok, false, `byte ${pos} of line ${index + 1} changed unnoticed`);
          assert.deepEqual({ seq: result.brokenAt?.seq, line: result.brokenAt?.line }, { seq: index + 1, line: index + 1 }, `byte ${pos}`);
          assert.equal(result.records, index);
          edits++;
        }
      });
      assert.ok(edits > 400);
    });

    it('names a removed, a duplicated and a swapped record', () => {
      writeRecords(4);
      const lines = readFileSync(file, 'utf8').split('\n').slice(0, 4);
      const check = (text: string[], seq: number, reason: RegExp) => {
        writeFileSync(file, `${text.join('\n')}\n`);
        const r = verifyAudit(file);
        assert.equal(r.ok, false);
        assert.equal(r.brokenAt?.seq, seq);
        assert.match(r.brokenAt?.reason ?? '', reason);
      };
      check([lines[0]!, lines[2]!, lines[3]!], 2, /seq is 3, expected 2/);
      check([lines[0]!, lines[1]!, lines[1]!, lines[2]!], 3, /seq is 2, expected 3/);
      check([lines[1]!, lines[0]!], 1, /seq is 2, expected 1/);
      check([lines[1]!, lines[2]!], 1, /expected 1/);
    });

    it('says so when there is no log', () => {
      assert.throws(() => verifyAudit(join(dir, 'nope.log')), (err: unknown) => err instanceof AuditError && /no audit log at/.test(err.message));
    });
  });

  describe('crash safety', () => {
    it('ignores a torn last line, keeps every earlier record, and the next append starts on a fresh line', () => {
      writeRecords(3);
      const complete = readFileSync(file);
      const [lastStart, lastEnd] = lineSpans(complete).at(-1)!;
      // Every way a write of the last record can be cut short, from its first byte to all but its "\n".
      for (let cut = lastStart + 1; cut <= lastEnd; cut++) {
        writeFileSync(file, complete.subarray(0, cut));
        const torn = verifyAudit(file);
        assert.deepEqual(torn, { ok: true, records: 2, tornTail: { line: 3, bytes: cut - lastStart } }, `cut at ${cut}`);
      }
      writeFileSync(file, complete.subarray(0, lastStart + 40));
      let recovered: { bytes: number; text: string } | undefined;
      const log = AuditLog.open(file, { onRecovered: (r) => (recovered = r) });
      assert.equal(recovered?.bytes, 40);
      assert.equal(recovered?.text, complete.subarray(lastStart, lastStart + 40).toString('utf8'));
      assert.equal(log.lastSeq, 2);
      log.append(entry(99));
      log.close();
      const { records, verify } = readAudit(file);
      assert.deepEqual(verify, { ok: true, records: 3 });
      assert.deepEqual(records.map((r) => r.user), [entry(0).user, entry(1).user, entry(99).user]);
      assert.equal(readFileSync(file).subarray(0, lastStart).compare(complete.subarray(0, lastStart)), 0, 'earlier records untouched');
    });

    it('treats a torn first write (no complete line at all) as an empty log', () => {
      writeRecords(1);
      truncateSync(file, 17);
      assert.deepEqual(verifyAudit(file), { ok: true, records: 0, tornTail: { line: 1, bytes: 17 } });
      writeRecords(1);
      assert.deepEqual(verifyAudit(file), { ok: true, records: 1 });
    });

    it('treats a last line of NUL bytes (power loss) as torn', () => {
      writeRecords(2);
      appendFileSync(file, Buffer.alloc(300));
      assert.deepEqual(verifyAudit(file), { ok: true, records: 2, tornTail: { line: 3, bytes: 300 } });
      appendFileSync(file, '\n');
      assert.deepEqual(verifyAudit(file), { ok: true, records: 2, tornTail: { line: 3, bytes: 301 } });
      writeRecords(1, 2);
      assert.deepEqual(verifyAudit(file), { ok: true, records: 3 });
    });

    it('survives SIGKILL at random moments of a process appending in a tight loop', async function () {
      this.timeout(120_000);
      const runs = 20;
      let before = 0;
      for (let run = 0; run < runs; run++) {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/audit-writer.ts', file], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
        const ready = await new Promise<number>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            const m = /ready (\d+)/.exec(d.toString());
            if (m) resolve(Number(m[1]));
          });
          void exited.then(() => reject(new Error(`the writer exited early: ${stderr}`)));
        });
        // The writer continues exactly where the previous one was killed.
        assert.equal(ready, before, `run ${run}: the reopened log continues at seq ${before}`);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
        child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL');
        const result = verifyAudit(file);
        assert.equal(result.ok, true, `run ${run}: ${JSON.stringify(result)}`);
        assert.ok(result.records > before, `run ${run}: the writer appended records (${result.records} > ${before})`);
        before = result.records;
      }
      const { records } = readAudit(file);
      assert.deepEqual(
        records.map((r) => r.seq),
        records.map((_, i) => i + 1),
      );
    });
  });

  describe('through the EventLog', () => {
    it('records the audited events with only allowlisted, non-secret fields', () => {
      const log = AuditLog.open(file);
      const logLines: string[] = [];
      const events = new EventLog(createLogger('debug', { write: (l: string) => void logLines.push(l) }), auditSink(log));
      events.emit('PasswordResetStart', { sid: SID, action: 'unlock', user: DN, known: true });
      events.emit('GateCodeSent', { sid: SID, user: DN, method: 'email' });
      events.emit('GateFailed', { sid: SID, user: DN, method: 'email', result: 'wrong' });
      events.emit('GatePassed', { sid: SID, user: DN, method: 'email' });
      events.emit('UnlockSuccess', { sid: SID, user: DN });
      events.emit('ChangePasswordStart', { sid: SID, action: 'change', known: false });
      // Fields an event might carry that must never reach the audit log.
      events.emit('ChangePasswordFail', { sid: SID, code: 'POLICY_VIOLATION', reason: 'history', password: 'Hunter2!', answer: 'blue', error: 'smtp said x@y' });
      events.emit('PasswordResetFail', { sid: SID, user: DN, code: '12345678', reason: 'the code was 12345678' });
      events.emit('SelfServiceBlocked', { sid: SID, user: DN, why: 'failures' });
      events.emit('RelayConnected', { relay: 'wss://relay' });
      log.close();

      const { records, verify } = readAudit(file);
      assert.deepEqual(verify, { ok: true, records: 8 });
      const strip = records.map(({ seq: _s, time: _t, hash: _h, prevHash: _p, ...rest }) => rest);
      assert.deepEqual(strip, [
        { event: 31001, name: 'PasswordResetStart', action: 'unlock', outcome: 'start', user: DN, known: true, sid: 'Zx9aBc' },
        { event: 31023, name: 'GateFailed', action: 'gate', outcome: 'failure', method: 'email', code: 'GATE_FAILED', reason: 'wrong', user: DN, sid: 'Zx9aBc' },
        { event: 31022, name: 'GatePassed', action: 'gate', outcome: 'success', method: 'email', user: DN, sid: 'Zx9aBc' },
        { event: 31009, name: 'UnlockSuccess', action: 'unlock', outcome: 'success', method: 'email', user: DN, sid: 'Zx9aBc' },
        { event: 31006, name: 'ChangePasswordStart', action: 'change', outcome: 'start', known: false, sid: 'Zx9aBc' },
        { event: 31008, name: 'ChangePasswordFail', action: 'change', outcome: 'failure', method: 'password', code: 'POLICY_VIOLATION', reason: 'history', sid: 'Zx9aBc' },
        { event: 31003, name: 'PasswordResetFail', action: 'reset', outcome: 'failure', code: 'INTERNAL', user: DN, sid: 'Zx9aBc' },
        { event: 31024, name: 'SelfServiceBlocked', action: 'gate', outcome: 'blocked', code: 'TOO_MANY_ATTEMPTS', reason: 'failures', user: DN, sid: 'Zx9aBc' },
      ]);
      const text = readFileSync(file, 'utf8');
      for (const secret of ['Hunter2!', 'blue', '12345678', 'x@y', SID]) assert.ok(!text.includes(secret), `"${secret}" is in the audit log`);
    });

    it('records registration sign-ins and changes (what and which method, never the contact data)', () => {
      const log = AuditLog.open(file);
      const events = new EventLog(createLogger('silent', { write: () => undefined }), auditSink(log));
      events.emit('RegistrationSignInFail', { sid: SID, user: DN, known: true });
      events.emit('RegistrationSignIn', { sid: SID, user: DN });
      events.emit('RegistrationChanged', { sid: SID, user: DN, change: 'added', method: 'sms', phone: '+12025550123' });
      events.emit('RegistrationChanged', { sid: SID, user: DN, change: 'confirmed' });
      events.emit('RegistrationChanged', { sid: SID, user: DN, change: 'stolen <script>', method: 'Bad Method!' });
      log.close();

      const strip = readAudit(file).records.map(({ seq: _s, time: _t, hash: _h, prevHash: _p, ...rest }) => rest);
      assert.deepEqual(strip, [
        { event: 31061, name: 'RegistrationSignInFail', action: 'registration', outcome: 'failure', method: 'password', code: 'INVALID_CREDENTIALS', user: DN, known: true, sid: 'Zx9aBc' },
        { event: 31060, name: 'RegistrationSignIn', action: 'registration', outcome: 'start', user: DN, sid: 'Zx9aBc' },
        { event: 31062, name: 'RegistrationChanged', action: 'registration', outcome: 'success', reason: 'added', method: 'sms', user: DN, sid: 'Zx9aBc' },
        { event: 31062, name: 'RegistrationChanged', action: 'registration', outcome: 'success', reason: 'confirmed', user: DN, sid: 'Zx9aBc' },
        // Values outside the allowlists are left out, not written.
        { event: 31062, name: 'RegistrationChanged', action: 'registration', outcome: 'success', user: DN, sid: 'Zx9aBc' },
      ]);
      assert.ok(!readFileSync(file, 'utf8').includes('2025550123'));
    });

    it('never lets an audit failure escape the EventLog, and says so in the log', () => {
      const logLines: string[] = [];
      const events = new EventLog(createLogger('debug', { write: (l: string) => void logLines.push(l) }), () => {
        throw new AuditError('disk full');
      });
      assert.doesNotThrow(() => events.emit('PasswordResetSuccess', { sid: SID, user: DN }));
      assert.ok(logLines.some((l) => /event sink failed/.test(l) && /disk full/.test(l)));
    });
  });
});
