/**
 * `unlatch-agent report` on an audit log written the way the agent writes it (events through
 * the EventLog sink): the counts an admin reads, the period filter, the three output formats,
 * and `--verify` naming the first bad record. The command itself is run as a real process too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditSink } from '../../agent/audit/events.ts';
import { AuditLog } from '../../agent/audit/log.ts';
import { readAudit } from '../../agent/audit/read.ts';
import { buildReport, CSV_COLUMNS, formatReport, parsePeriodBound, reportCommand, type AuditReport, type ReportCommandOptions } from '../../agent/audit/report.ts';
import type { Coverage } from '../../agent/gates/coverage.ts';
import { EventLog, type EventFields, type EventName } from '../../agent/events.ts';
import { createLogger } from '../../agent/log.ts';
import { agentFromSource } from '../support/cli.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 1, 9); // 2026-03-01T09:00Z
const ALICE = 'CN=Alice Smith,OU=Staff,DC=corp,DC=example';
const BOB = 'CN=Bob Jones,OU=Staff,DC=corp,DC=example';

describe('unlatch-agent report', () => {
  let dir: string;
  let file: string;

  /** A week of activity, written through the agent's EventLog: day 0 … day 6. */
  function writeWeek(): void {
    let now = T0;
    const log = AuditLog.open(file, { now: () => now });
    const events = new EventLog(createLogger('silent', { write: () => undefined }), auditSink(log));
    let n = 0;
    const at = (day: number, name: EventName, fields: EventFields) => {
      now = T0 + day * DAY + n++ * 1000;
      events.emit(name, fields);
    };
    const reset = (day: number, user: string, sid: string, fail?: { code: string; reason?: string }) => {
      at(day, 'PasswordResetStart', { sid, action: 'reset', user, known: true });
      at(day, 'GatePassed', { sid, user, method: 'email' });
      if (fail) at(day, 'PasswordResetFail', { sid, user, ...fail });
      else at(day, 'PasswordResetSuccess', { sid, user });
    };
    reset(0, ALICE, 'sid-a1');
    reset(1, BOB, 'sid-b1', { code: 'POLICY_VIOLATION', reason: 'history' });
    reset(1, BOB, 'sid-b2', { code: 'POLICY_VIOLATION', reason: 'history' });
    reset(2, BOB, 'sid-b3');
    at(3, 'ChangePasswordStart', { sid: 'sid-c1', action: 'change', user: ALICE, known: true });
    at(3, 'ChangePasswordFail', { sid: 'sid-c1', user: ALICE, code: 'INVALID_CREDENTIALS' });
    at(3, 'ChangePasswordStart', { sid: 'sid-c2', action: 'change', user: ALICE, known: true });
    at(3, 'ChangePasswordSuccess', { sid: 'sid-c2', user: ALICE });
    at(4, 'PasswordResetStart', { sid: 'sid-u1', action: 'unlock', user: ALICE, known: true });
    at(4, 'GatePassed', { sid: 'sid-u1', user: ALICE, method: 'email' });
    at(4, 'UnlockSuccess', { sid: 'sid-u1', user: ALICE });
    at(5, 'PasswordResetStart', { sid: 'sid-x1', action: 'reset', known: false });
    for (let i = 0; i < 5; i++) at(5, 'GateFailed', { sid: 'sid-x1', method: 'email', result: i === 0 ? 'expired' : 'wrong' });
    at(5, 'SelfServiceBlocked', { sid: 'sid-x1', why: 'failures' });
    at(6, 'SelfServiceBlocked', { sid: 'sid-b4', user: BOB, why: 'resets' });
    log.close();
  }

  function report(period: { since?: Date; until?: Date } = {}): AuditReport {
    const { records, verify } = readAudit(file);
    return buildReport(records, verify, period);
  }

  async function run(o: Partial<ReportCommandOptions>): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await reportCommand({ file, now: T0 + 7 * DAY, ...o }, (s) => (out += s), (s) => (err += s));
    return { code, out, err };
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'unlatch-report-'));
    file = join(dir, 'audit.log');
    writeWeek();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('counts', () => {
    it('counts resets, changes and unlocks by outcome', () => {
      const r = report();
      assert.deepEqual(r.activity, {
        reset: { started: 5, succeeded: 2, failed: 2 },
        change: { started: 2, succeeded: 1, failed: 1 },
        unlock: { started: 1, succeeded: 1, failed: 0 },
      });
      assert.deepEqual(r.gates, [{ method: 'email', passed: 5, failed: 5 }]);
      assert.equal(r.integrity.ok, true);
      assert.equal(r.first, '2026-03-01T09:00:00.000Z');
    });

    it('counts failures by code and reason, and by method', () => {
      const r = report();
      assert.deepEqual(r.failures.byReason, [
        { action: 'gate', code: 'GATE_FAILED', reason: 'wrong', count: 4 },
        { action: 'reset', code: 'POLICY_VIOLATION', reason: 'history', count: 2 },
        { action: 'change', code: 'INVALID_CREDENTIALS', reason: null, count: 1 },
        { action: 'gate', code: 'GATE_EXPIRED', reason: 'expired', count: 1 },
      ]);
      // The failed resets count under the method the person passed before them.
      assert.deepEqual(r.failures.byMethod, [
        { method: 'email', count: 7 },
        { method: 'password', count: 1 },
      ]);
    });

    it('lists blocked users, newest first, an unknown id without a name', () => {
      assert.deepEqual(report().blocked, [
        { user: BOB, why: 'resets', times: 1, last: '2026-03-07T09:00:26.000Z' },
        { user: null, why: 'failures', times: 1, last: '2026-03-06T09:00:25.000Z' },
      ]);
    });
  });

  describe('period', () => {
    it('keeps records from --since (inclusive) to --until (exclusive)', () => {
      const r = report({ since: new Date(T0 + DAY), until: new Date(T0 + 3 * DAY) });
      assert.deepEqual(r.activity.reset, { started: 3, succeeded: 1, failed: 2 });
      assert.deepEqual(r.activity.change, { started: 0, succeeded: 0, failed: 0 });
      assert.deepEqual(r.blocked, []);
      assert.equal(r.records, 9);
      assert.deepEqual(r.period, { since: '2026-03-02T09:00:00.000Z', until: '2026-03-04T09:00:00.000Z' });
    });

    it('reads ISO dates and times, and durations back from now', () => {
      const now = Date.UTC(2026, 2, 8, 12);
      assert.equal(parsePeriodBound('--since', '2026-03-02', now).toISOString(), '2026-03-02T00:00:00.000Z');
      assert.equal(parsePeriodBound('--since', '2026-03-02T08:30:00Z', now).toISOString(), '2026-03-02T08:30:00.000Z');
      assert.equal(parsePeriodBound('--since', '7d', now).toISOString(), '2026-03-01T12:00:00.000Z');
      assert.equal(parsePeriodBound('--since', '12h', now).toISOString(), '2026-03-08T00:00:00.000Z');
      assert.equal(parsePeriodBound('--since', '2w', now).toISOString(), '2026-02-22T12:00:00.000Z');
      for (const bad of ['yesterday', '7', '7y', '2026-13-45', '']) assert.throws(() => parsePeriodBound('--since', bad, now), /--since/);
    });

    it('applies --since 3d from the command, and refuses a bad value with status 2', async () => {
      const { code, out } = await run({ since: '3d', format: 'json' });
      assert.equal(code, 0);
      const r = JSON.parse(out) as AuditReport;
      assert.equal(r.period.since, new Date(T0 + 4 * DAY).toISOString());
      assert.deepEqual(r.activity.unlock, { started: 1, succeeded: 1, failed: 0 });
      assert.equal(r.activity.change.started, 0);
      const bad = await run({ since: 'last week' });
      assert.equal(bad.code, 2);
      assert.match(bad.err, /--since "last week": use an ISO date/);
    });
  });

  describe('output', () => {
    it('--json gives the whole report', async () => {
      const { code, out } = await run({ format: 'json' });
      assert.equal(code, 0);
      const r = JSON.parse(out) as AuditReport;
      assert.deepEqual(Object.keys(r).sort(), ['activity', 'blocked', 'coverage', 'failures', 'first', 'gates', 'integrity', 'last', 'period', 'records', 'registration']);
      assert.deepEqual(r, JSON.parse(JSON.stringify(report())));
      assert.deepEqual(r.integrity, { ok: true, records: 27 });
    });

    it('--csv gives one row per counted thing, DNs quoted', async () => {
      const { code, out } = await run({ format: 'csv' });
      assert.equal(code, 0);
      assert.ok(out.endsWith('\r\n'));
      const lines = out.trimEnd().split('\r\n');
      assert.equal(lines[0], CSV_COLUMNS.join(','));
      assert.ok(lines.includes('activity,reset,success,,,,,2'));
      assert.ok(lines.includes('activity,change,failure,,,,,1'));
      assert.ok(lines.includes('gate,gate,failure,,,email,,5'));
      assert.ok(lines.includes('failure,reset,failure,POLICY_VIOLATION,history,email,,2'));
      assert.ok(lines.includes('failure,change,failure,INVALID_CREDENTIALS,,password,,1'));
      assert.ok(lines.includes(`blocked,gate,blocked,TOO_MANY_ATTEMPTS,resets,,"${BOB}",1`));
      // Every row has as many fields as the header (commas inside quotes do not count).
      for (const line of lines) assert.equal(line.replace(/"[^"]*"/g, 'x').split(',').length, CSV_COLUMNS.length, line);
    });

    it('prints a table by default', async () => {
      const { code, out } = await run({});
      assert.equal(code, 0);
      assert.match(out, /^Unlatch audit report: .* \(27 records\)/);
      assert.match(out, /^ {2}action +started +succeeded +failed$/m);
      assert.match(out, /^ {2}reset +5 +2 +2$/m);
      assert.match(out, /^ {2}reset +POLICY_VIOLATION +history +2$/m);
      assert.match(out, /Blocked users\n.*\n {2}CN=Bob Jones,OU=Staff,DC=corp,DC=example +resets +1 +2026-03-07/);
    });
  });

  describe('--verify', () => {
    it('says OK and exits 0 on an intact log', async () => {
      const { code, out } = await run({ verify: true });
      assert.equal(code, 0);
      assert.match(out, /OK, 27 records, hash chain intact/);
    });

    it('exits 1 naming the first changed record by seq and line', async () => {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines[11] = (lines[11] as string).replace('Bob', 'Rob');
      writeFileSync(file, lines.join('\n'));
      const { code, out } = await run({ verify: true });
      assert.equal(code, 1);
      assert.match(out, /BROKEN at record 12 \(line 12\): the record does not match its hash; 11 records before it verify/);
      const json = await run({ verify: true, format: 'json' });
      assert.equal(json.code, 1);
      assert.deepEqual(JSON.parse(json.out), { ok: false, records: 11, brokenAt: { seq: 12, line: 12, reason: 'the record does not match its hash' } });
      // A plain report still reports, and warns.
      assert.match((await run({})).out, /WARNING: the hash chain is broken at record 12 \(line 12\)/);
    });

    it('runs as `unlatch-agent report` from the command line', function () {
      this.timeout(30_000);
      const cli = (...args: string[]) => agentFromSource(['report', '--file', file, ...args]);
      const ok = cli('--verify');
      assert.equal(ok.status, 0, ok.stderr);
      const json = cli('--json', '--since', '2026-03-05');
      assert.equal(json.status, 0, json.stderr);
      assert.equal((JSON.parse(json.stdout) as AuditReport).records, 11);
      writeFileSync(file, readFileSync(file, 'utf8').replace('"seq":3,', '"seq":30,'));
      const broken = cli('--verify');
      assert.equal(broken.status, 1);
      assert.match(broken.stdout, /BROKEN at record 3 \(line 3\)/);
      const missing = agentFromSource(['report', '--file', join(dir, 'none.log')]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /no audit log at/);
    });
  });
});

describe('unlatch-agent report: registrations', () => {
  it('counts sign-ins, refused sign-ins and changes by kind and method, in every format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unlatch-report-reg-'));
    try {
      const file = join(dir, 'audit.log');
      const log = AuditLog.open(file);
      const events = new EventLog(createLogger('silent', { write: () => undefined }), auditSink(log));
      const user = 'CN=Heidi,OU=Staff,DC=corp,DC=example';
      events.emit('RegistrationSignInFail', { sid: 'sid-r1', user, known: true });
      events.emit('RegistrationSignIn', { sid: 'sid-r2', user });
      events.emit('RegistrationChanged', { sid: 'sid-r2', user, change: 'added', method: 'totp' });
      events.emit('RegistrationChanged', { sid: 'sid-r2', user, change: 'added', method: 'sms' });
      events.emit('RegistrationSignIn', { sid: 'sid-r3', user });
      events.emit('RegistrationChanged', { sid: 'sid-r3', user, change: 'added', method: 'totp' });
      events.emit('RegistrationChanged', { sid: 'sid-r3', user, change: 'confirmed' });
      log.close();
      const { records, verify } = readAudit(file);
      const r = buildReport(records, verify);
      assert.deepEqual(r.registration, {
        signIns: 2,
        failedSignIns: 1,
        changes: [
          { change: 'added', method: 'totp', count: 2 },
          { change: 'added', method: 'sms', count: 1 },
          { change: 'confirmed', method: null, count: 1 },
        ],
      });
      assert.deepEqual(r.failures.byReason, [{ action: 'registration', code: 'INVALID_CREDENTIALS', reason: null, count: 1 }]);
      assert.match(formatReport(r, 'table'), /Registrations: 2 opened, 1 refused \(wrong password\)\n.*\n {2}added +totp +2$/m);
      const csv = formatReport(r, 'csv').split('\r\n');
      assert.ok(csv.includes('registration,registration,start,,,,,2'));
      assert.ok(csv.includes('registration,registration,success,,added,totp,,2'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('unlatch-agent report: registration coverage output', () => {
  const coverage: Coverage = {
    at: '2026-03-08T12:00:00.000Z',
    eligible: 4,
    ready: 1,
    notReady: 3,
    percentReady: 25,
    selfRegistered: 1,
    methods: [
      { kind: 'email', users: 2 },
      { kind: 'phone', users: 0 },
      { kind: 'totp', users: 1 },
      { kind: 'questions', users: 0 },
    ],
    privileged: { eligible: 1, ready: 0 },
    excluded: { disabled: 2, protected: 1 },
    notReadyUsers: [
      { user: '=cmd', privileged: false, has: [] },
      { user: 'admin.k', privileged: true, has: ['email'] },
      { user: 'heidi', privileged: false, has: [] },
    ],
  };
  const empty = { ok: true, records: 0 } as const;

  it('prints the counts and names who cannot use self-service yet', () => {
    const out = formatReport(buildReport([], empty, {}, coverage), 'table');
    assert.match(out, /Registration coverage of the users in scope \(now, 2026-03-08T12:00:00.000Z\)/);
    assert.match(out, /^ {2}can pass their checks \(25%\) +1$/m);
    assert.match(out, /^ {2}privileged: can pass \(of 1\) +0$/m);
    assert.match(out, /^ {2}admin\.k +email +privileged$/m);
    assert.match(out, /^ {2}heidi +nothing$/m);
  });

  it('gives CSV rows per count, per kind and per person (formula-looking names defused)', () => {
    const rows = formatReport(buildReport([], empty, {}, coverage), 'csv').trimEnd().split('\r\n');
    for (const row of [
      'coverage,,eligible,,,,,4',
      'coverage,,not_ready,,,,,3',
      'coverage,,on_file,,,totp,,1',
      'coverage,,not_ready_user,,privileged,email,admin.k,1',
      "coverage,,not_ready_user,,,,'=cmd,1",
    ]) {
      assert.ok(rows.includes(row), row);
    }
  });

  it('says why coverage is missing, and leaves it out when not asked for', () => {
    const missing = formatReport(buildReport([], empty, {}, { error: 'could not read the users in scope: connect ECONNREFUSED' }), 'table');
    assert.match(missing, /Registration coverage: not available\n {2}could not read the users in scope: connect ECONNREFUSED/);
    assert.doesNotMatch(formatReport(buildReport([], empty), 'table'), /coverage/i);
  });
});
