/**
 * `unlatch-agent report`: what the audit log says happened in a period — resets, changes and
 * unlocks, failures by reason and by method, registration changes, blocked users — and how many of the people in scope
 * could use self-service today (registration coverage), as a terminal table, JSON or CSV; and
 * `--verify`, which checks the hash chain.
 */
import type { Coverage } from '../gates/coverage.ts';
import { readAudit, verifyAudit, type VerifyResult } from './read.ts';
import type { AuditRecord } from './record.ts';

export const REPORT_ACTIONS = ['reset', 'change', 'unlock'] as const;
export type ReportAction = (typeof REPORT_ACTIONS)[number];

export interface ReportPeriod {
  /** Inclusive. */
  since?: Date | undefined;
  /** Exclusive. */
  until?: Date | undefined;
}

export interface AuditReport {
  period: { since: string | null; until: string | null };
  /** Records in the period. */
  records: number;
  /** Time of the first and last record in the period. */
  first: string | null;
  last: string | null;
  /** Sessions started, and outcomes, per action. */
  activity: Record<ReportAction, { started: number; succeeded: number; failed: number }>;
  /** Identity checks per method. */
  gates: { method: string; passed: number; failed: number }[];
  failures: {
    /** Failed actions and failed checks by code and reason. */
    byReason: { action: string; code: string; reason: string | null; count: number }[];
    /** The same failures by how the person proved who they were ("password" for a change). */
    byMethod: { method: string | null; count: number }[];
    /** Both at once: by action, code, reason and method. */
    detail: { action: string; code: string; reason: string | null; method: string | null; count: number }[];
  };
  /** People opening their registration (with their password), and what they changed. */
  registration: {
    signIns: number;
    failedSignIns: number;
    /** By change (added, removed, questions, questions_removed, confirmed) and method. */
    changes: { change: string; method: string | null; count: number }[];
  };
  /** People whose self-service was blocked (too many failures or resets). */
  blocked: { user: string | null; why: string | null; times: number; last: string }[];
  /** The hash chain of the whole file (not only the period). */
  integrity: VerifyResult;
  /**
   * Registration coverage of the users in scope, measured now (not over the period); null when
   * not asked for (`--no-coverage`), `{ error }` when the directory or the store could not be read.
   */
  coverage: Coverage | { error: string } | null;
}

/** Counts the records of `period` (all records when it is empty). */
export function buildReport(
  records: readonly AuditRecord[],
  integrity: VerifyResult,
  period: ReportPeriod = {},
  coverage: AuditReport['coverage'] = null,
): AuditReport {
  const since = period.since?.getTime() ?? -Infinity;
  const until = period.until?.getTime() ?? Infinity;
  const inPeriod = records.filter((r) => {
    const t = Date.parse(r.time);
    return t >= since && t < until;
  });
  const activity = Object.fromEntries(REPORT_ACTIONS.map((a) => [a, { started: 0, succeeded: 0, failed: 0 }])) as AuditReport['activity'];
  const gates = new Map<string, { method: string; passed: number; failed: number }>();
  const byReason = new Map<string, AuditReport['failures']['byReason'][number]>();
  const byMethod = new Map<string, AuditReport['failures']['byMethod'][number]>();
  const detail = new Map<string, AuditReport['failures']['detail'][number]>();
  const blocked = new Map<string, AuditReport['blocked'][number]>();
  const registration: AuditReport['registration'] = { signIns: 0, failedSignIns: 0, changes: [] };
  const changes = new Map<string, AuditReport['registration']['changes'][number]>();

  for (const r of inPeriod) {
    if (isReportAction(r.action)) {
      const a = activity[r.action];
      if (r.outcome === 'start') a.started++;
      else if (r.outcome === 'success') a.succeeded++;
      else if (r.outcome === 'failure') a.failed++;
    }
    if (r.action === 'gate' && r.method && (r.outcome === 'success' || r.outcome === 'failure')) {
      const g = bump(gates, r.method, () => ({ method: r.method as string, passed: 0, failed: 0 }));
      if (r.outcome === 'success') g.passed++;
      else g.failed++;
    }
    if (r.action === 'registration') {
      if (r.outcome === 'start') registration.signIns++;
      else if (r.outcome === 'failure') registration.failedSignIns++;
      else if (r.outcome === 'success') {
        const change = r.reason ?? 'changed';
        bump(changes, `${change}|${r.method ?? ''}`, () => ({ change, method: r.method ?? null, count: 0 })).count++;
      }
    }
    if (r.outcome === 'failure') {
      const code = r.code ?? 'INTERNAL';
      bump(byReason, `${r.action}|${code}|${r.reason ?? ''}`, () => ({ action: r.action, code, reason: r.reason ?? null, count: 0 })).count++;
      bump(byMethod, r.method ?? '', () => ({ method: r.method ?? null, count: 0 })).count++;
      bump(detail, `${r.action}|${code}|${r.reason ?? ''}|${r.method ?? ''}`, () => ({
        action: r.action,
        code,
        reason: r.reason ?? null,
        method: r.method ?? null,
        count: 0,
      })).count++;
    }
    if (r.outcome === 'blocked') {
      const b = bump(blocked, `${r.user ?? ''}|${r.reason ?? ''}`, () => ({ user: r.user ?? null, why: r.reason ?? null, times: 0, last: r.time }));
      b.times++;
      if (r.time > b.last) b.last = r.time;
    }
  }

  const byCount = <T extends { count: number }>(rows: T[], key: (row: T) => string) =>
    rows.sort((a, b) => b.count - a.count || key(a).localeCompare(key(b)));
  return {
    period: { since: period.since?.toISOString() ?? null, until: period.until?.toISOString() ?? null },
    records: inPeriod.length,
    first: inPeriod[0]?.time ?? null,
    last: inPeriod.at(-1)?.time ?? null,
    activity,
    gates: [...gates.values()].sort((a, b) => a.method.localeCompare(b.method)),
    failures: {
      byReason: byCount([...byReason.values()], (r) => `${r.action} ${r.code} ${r.reason ?? ''}`),
      byMethod: byCount([...byMethod.values()], (r) => r.method ?? ''),
      detail: byCount([...detail.values()], (r) => `${r.action} ${r.code} ${r.reason ?? ''} ${r.method ?? ''}`),
    },
    registration: { ...registration, changes: byCount([...changes.values()], (c) => `${c.change} ${c.method ?? ''}`) },
    blocked: [...blocked.values()].sort((a, b) => b.last.localeCompare(a.last) || (a.user ?? '').localeCompare(b.user ?? '')),
    integrity,
    coverage,
  };
}

function isReportAction(action: string): action is ReportAction {
  return (REPORT_ACTIONS as readonly string[]).includes(action);
}

function bump<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

// ---- period ----------------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export class ReportUsageError extends Error {
  override readonly name = 'ReportUsageError';
}

/**
 * A period bound: an ISO 8601 date or time (`2026-01-31`, `2026-01-31T08:00:00Z`), or a duration
 * back from now (`90m`, `12h`, `7d`, `2w`).
 */
export function parsePeriodBound(option: string, value: string, now: number = Date.now()): Date {
  const duration = /^(\d{1,6})([smhdw])$/.exec(value.trim());
  if (duration) return new Date(now - Number(duration[1]) * (UNIT_MS[duration[2] as string] as number));
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const t = Date.parse(value.trim());
    if (Number.isFinite(t)) return new Date(t);
  }
  throw new ReportUsageError(`${option} "${value}": use an ISO date or time (2026-01-31, 2026-01-31T08:00:00Z) or a duration such as 30m, 12h, 7d, 2w`);
}

// ---- output ----------------------------------------------------------------------------------

export type ReportFormat = 'table' | 'json' | 'csv';

export function formatReport(report: AuditReport, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return formatCsv(report);
  return formatTable(report);
}

export const CSV_COLUMNS = ['section', 'action', 'outcome', 'code', 'reason', 'method', 'user', 'count'] as const;

/**
 * One flat table, one row per counted thing, so that a spreadsheet can pivot it any way:
 * `activity` (per action and outcome), `gate` (per method and outcome), `failure` (per action,
 * code, reason and method), `registration` (sign-ins; changes per change in `reason` and
 * method), `blocked` (per user and reason), `coverage` (eligible, ready,
 * not_ready, self_registered; on_file per kind of check in `method`; one not_ready_user row per
 * person who cannot use self-service yet, what they have on file in `method`).
 */
function formatCsv(report: AuditReport): string {
  const rows: (string | number | null)[][] = [[...CSV_COLUMNS]];
  for (const action of REPORT_ACTIONS) {
    const a = report.activity[action];
    rows.push(['activity', action, 'start', null, null, null, null, a.started]);
    rows.push(['activity', action, 'success', null, null, null, null, a.succeeded]);
    rows.push(['activity', action, 'failure', null, null, null, null, a.failed]);
  }
  for (const g of report.gates) {
    rows.push(['gate', 'gate', 'success', null, null, g.method, null, g.passed]);
    rows.push(['gate', 'gate', 'failure', null, null, g.method, null, g.failed]);
  }
  for (const f of report.failures.detail) rows.push(['failure', f.action, 'failure', f.code, f.reason, f.method, null, f.count]);
  const reg = report.registration;
  rows.push(['registration', 'registration', 'start', null, null, null, null, reg.signIns]);
  rows.push(['registration', 'registration', 'failure', 'INVALID_CREDENTIALS', null, 'password', null, reg.failedSignIns]);
  for (const c of reg.changes) rows.push(['registration', 'registration', 'success', null, c.change, c.method, null, c.count]);
  for (const b of report.blocked) rows.push(['blocked', 'gate', 'blocked', 'TOO_MANY_ATTEMPTS', b.why, null, b.user, b.times]);
  const c = report.coverage;
  if (c && !('error' in c)) {
    rows.push(['coverage', null, 'eligible', null, null, null, null, c.eligible]);
    rows.push(['coverage', null, 'ready', null, null, null, null, c.ready]);
    rows.push(['coverage', null, 'not_ready', null, null, null, null, c.notReady]);
    rows.push(['coverage', null, 'self_registered', null, null, null, null, c.selfRegistered]);
    for (const m of c.methods) rows.push(['coverage', null, 'on_file', null, null, m.kind, null, m.users]);
    for (const u of c.notReadyUsers) rows.push(['coverage', null, 'not_ready_user', null, u.privileged ? 'privileged' : null, u.has.join(' ') || null, u.user, 1]);
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** RFC 4180 quoting; a leading = + - @ is defused so that a spreadsheet never runs a value as a formula. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatTable(report: AuditReport): string {
  const out: string[] = [];
  const span = `${report.period.since ?? report.first ?? '(start)'} … ${report.period.until ?? report.last ?? '(now)'}`;
  out.push(`Unlatch audit report: ${span} (${report.records} record${report.records === 1 ? '' : 's'})`);
  if (!report.integrity.ok && report.integrity.brokenAt) {
    const b = report.integrity.brokenAt;
    out.push(`WARNING: the hash chain is broken at record ${b.seq} (line ${b.line}): ${b.reason}. Run \`unlatch-agent report --verify\`.`);
  }
  out.push('');
  out.push(
    table(
      ['action', 'started', 'succeeded', 'failed'],
      REPORT_ACTIONS.map((a) => [a, report.activity[a].started, report.activity[a].succeeded, report.activity[a].failed]),
    ),
  );
  if (report.gates.length) {
    out.push('', 'Identity checks');
    out.push(table(['method', 'passed', 'failed'], report.gates.map((g) => [g.method, g.passed, g.failed])));
  }
  out.push('', 'Failures by reason');
  out.push(
    report.failures.byReason.length
      ? table(['action', 'code', 'reason', 'count'], report.failures.byReason.map((f) => [f.action, f.code, f.reason ?? '—', f.count]))
      : '  none',
  );
  out.push('', 'Failures by method');
  out.push(
    report.failures.byMethod.length ? table(['method', 'count'], report.failures.byMethod.map((f) => [f.method ?? '—', f.count])) : '  none',
  );
  const reg = report.registration;
  out.push('', `Registrations: ${reg.signIns} opened, ${reg.failedSignIns} refused (wrong password)`);
  if (reg.changes.length) out.push(table(['change', 'method', 'count'], reg.changes.map((c) => [c.change, c.method ?? '—', c.count])));
  out.push('', 'Blocked users');
  out.push(
    report.blocked.length
      ? table(['user', 'why', 'times', 'last'], report.blocked.map((b) => [b.user ?? '(unknown id)', b.why ?? '—', b.times, b.last]))
      : '  none',
  );
  out.push('', ...formatCoverage(report.coverage));
  return `${out.join('\n')}\n`;
}

/** How many people could use self-service today, and who could not. */
function formatCoverage(c: AuditReport['coverage']): string[] {
  if (c === null) return [];
  if ('error' in c) return ['Registration coverage: not available', `  ${c.error}`];
  const out = [`Registration coverage of the users in scope (now, ${c.at})`];
  out.push(
    table(
      ['', 'users'],
      [
        ['in scope, enabled, not protected', c.eligible],
        [`can pass their checks (${c.percentReady}%)`, c.ready],
        ['cannot yet', c.notReady],
        ['registered something themselves', c.selfRegistered],
        ...(c.privileged.eligible ? [[`privileged: can pass (of ${c.privileged.eligible})`, c.privileged.ready] as [string, number]] : []),
        ['disabled (not counted)', c.excluded.disabled],
        ['protected, adminCount=1 (not counted)', c.excluded.protected],
      ],
    ),
  );
  out.push('', 'Checks on file');
  out.push(table(['check', 'users'], c.methods.map((m) => [m.kind, m.users])));
  if (c.notReadyUsers.length) {
    const shown = c.notReadyUsers.slice(0, NOT_READY_SHOWN);
    out.push('', 'Cannot use self-service yet (ask them to register)');
    out.push(table(['user', 'has on file', ''], shown.map((u) => [u.user, u.has.join(', ') || 'nothing', u.privileged ? 'privileged' : ''])));
    if (c.notReadyUsers.length > shown.length) out.push(`  … and ${c.notReadyUsers.length - shown.length} more (all of them in --json and --csv)`);
  }
  return out;
}

/** The terminal table lists this many people who cannot use self-service; --json and --csv list all. */
const NOT_READY_SHOWN = 50;

/** Columns padded to their widest cell; numbers right-aligned. */
function table(headers: string[], rows: (string | number)[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: (string | number)[]) =>
    `  ${cells.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ')}`.trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

// ---- the command -----------------------------------------------------------------------------

export interface ReportCommandOptions {
  /** The audit log. */
  file: string;
  since?: string | undefined;
  until?: string | undefined;
  format?: ReportFormat;
  /** Check the hash chain instead of reporting. */
  verify?: boolean;
  now?: number;
  /** Measures registration coverage (reads the directory and the store); absent: not shown. */
  coverage?: (() => Promise<Coverage>) | undefined;
}

/**
 * Runs `unlatch-agent report`; returns the exit status: 0 done, 1 the chain is broken
 * (`--verify`) or the log cannot be read, 2 wrong usage.
 */
export async function reportCommand(o: ReportCommandOptions, stdout: (s: string) => void, stderr: (s: string) => void): Promise<number> {
  if (o.verify) {
    const result = verifyAudit(o.file);
    if (o.format === 'json') stdout(`${JSON.stringify(result, null, 2)}\n`);
    if (result.tornTail) {
      stderr(
        `note: line ${result.tornTail.line} (${result.tornTail.bytes} bytes) is an incomplete last record left by a crash during a write; ` +
          'it is ignored, and the agent removes it when it next starts.\n',
      );
    }
    if (!result.ok && result.brokenAt) {
      const b = result.brokenAt;
      if (o.format !== 'json') stdout(`${o.file}: BROKEN at record ${b.seq} (line ${b.line}): ${b.reason}; ${result.records} records before it verify.\n`);
      return 1;
    }
    if (o.format !== 'json') stdout(`${o.file}: OK, ${result.records} record${result.records === 1 ? '' : 's'}, hash chain intact.\n`);
    return 0;
  }
  let period: ReportPeriod;
  try {
    period = {
      since: o.since === undefined ? undefined : parsePeriodBound('--since', o.since, o.now),
      until: o.until === undefined ? undefined : parsePeriodBound('--until', o.until, o.now),
    };
  } catch (err) {
    if (err instanceof ReportUsageError) {
      stderr(`unlatch-agent report: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { records, verify } = readAudit(o.file);
  let coverage: AuditReport['coverage'] = null;
  if (o.coverage) {
    try {
      coverage = await o.coverage();
    } catch (err) {
      // The audit part still stands; say plainly why coverage is missing.
      coverage = { error: err instanceof Error ? err.message : String(err) };
      stderr(`warning: registration coverage is not available: ${coverage.error}\n`);
    }
  }
  const report = buildReport(records, verify, period, coverage);
  stdout(formatReport(report, o.format ?? 'table'));
  if (!verify.ok && o.format !== 'table' && o.format !== undefined && verify.brokenAt) {
    stderr(`warning: the hash chain is broken at record ${verify.brokenAt.seq} (line ${verify.brokenAt.line}); run \`unlatch-agent report --verify\`\n`);
  }
  return 0;
}
