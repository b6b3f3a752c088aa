/**
 * Operating Unlatch, end to end: real resets, changes and failed checks through client → relay
 * → agent → Samba AD show up in the agent's audit log (hash chain intact, nothing secret in
 * it), in `unlatch-agent report` (run as a real command), and in the agent's and the relay's
 * /metrics as a Prometheus server would read them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAudit, verifyAudit } from '../../agent/audit/read.ts';
import type { AuditRecord } from '../../agent/audit/record.ts';
import type { AuditReport } from '../../agent/audit/report.ts';
import { agentFromSource } from '../support/cli.ts';
import { changePassword, expectOp, resetPassword } from '../support/flows.ts';
import { scrape } from '../support/prometheus.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

describe('Operations (audit log, report, metrics) end to end', function () {
  this.timeout(120_000);
  let stack: Stack;
  let dir: string;
  let auditFile: string;
  let agentMetrics: string;
  let relayMetrics: string;

  const report = (...args: string[]): AuditReport => {
    const run = agentFromSource(['report', '--file', auditFile, '--json', ...args]);
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as AuditReport;
  };
  const recordsFor = (dn: string): AuditRecord[] => readAudit(auditFile).records.filter((r) => r.user?.toLowerCase() === dn.toLowerCase());

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unlatch-ops-'));
    auditFile = join(dir, 'audit.log');
    // Plain ws: fetch() here cannot trust the test CA, and TLS has its own tests.
    stack = await startStack({ tls: false, agent: { audit: { file: auditFile }, metrics: { listen: { host: '127.0.0.1', port: 0 } } } });
    assert.ok(stack.agent?.metricsUrl, 'the agent serves /metrics');
    agentMetrics = stack.agent.metricsUrl;
    relayMetrics = `${stack.relay.url.replace(/^ws/, 'http')}/metrics`;
  });
  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a reset is in the audit log, in `report --json` and in the agent\'s /metrics', async () => {
    const before = await scrape(agentMetrics);
    const reportBefore = report();
    const user = await stack.directory.createUser('opsreset', { state: 'locked' });
    const session = await stack.openSession();
    const codesBefore = stack.mail.messages.length;
    const answer = await resetPassword(session, stack.mail, user.sam, user.mail as string, 'Audited-Reset-2026!');
    session.close();
    assert.deepEqual(answer, { op: 'done', action: 'reset' });
    assert.equal((await stack.directory.kinit(user.upn, 'Audited-Reset-2026!')).ok, true);

    // The audit log: who, what, how, in order, chained.
    assert.deepEqual(verifyAudit(auditFile).ok, true);
    const mine = recordsFor(user.dn);
    assert.deepEqual(
      mine.map((r) => [r.name, r.action, r.outcome, r.method ?? null]),
      [
        ['PasswordResetStart', 'reset', 'start', null],
        ['GatePassed', 'gate', 'success', 'email'],
        ['PasswordResetSuccess', 'reset', 'success', 'email'],
      ],
    );
    assert.equal(mine[0]?.known, true);
    assert.equal(new Set(mine.map((r) => r.sid)).size, 1);
    // Nothing secret: not the password, not the code, not the address it went to.
    const code = /\b(\d{8})\b/.exec(stack.mail.messages.slice(codesBefore).map((m) => m.text).join(' '))?.[1];
    const text = readFileSync(auditFile, 'utf8');
    for (const secret of ['Audited-Reset-2026!', user.password, user.mail as string, code ?? 'no code seen']) {
      assert.ok(!text.includes(secret), `the audit log contains "${secret}"`);
    }

    // The report, run as the admin runs it.
    const after = report();
    assert.equal(after.activity.reset.succeeded - reportBefore.activity.reset.succeeded, 1);
    assert.equal(after.activity.reset.started - reportBefore.activity.reset.started, 1);
    assert.equal(after.activity.reset.failed, reportBefore.activity.reset.failed);
    assert.equal(after.integrity.ok, true);

    // The agent's metrics moved by exactly this one reset.
    await waitFor(async () => (await scrape(agentMetrics)).value('unlatch_agent_codes_sent_total', { method: 'email', result: 'sent' }) > before.value('unlatch_agent_codes_sent_total', { method: 'email', result: 'sent' }));
    const m = await scrape(agentMetrics);
    const delta = (name: string, labels: Record<string, string>) => m.value(name, labels) - before.value(name, labels);
    assert.equal(delta('unlatch_agent_outcomes_total', { action: 'reset', code: 'OK' }), 1);
    assert.equal(delta('unlatch_agent_outcomes_total', { action: 'gate', code: 'OK' }), 1);
    assert.equal(delta('unlatch_agent_sessions_started_total', { action: 'reset' }), 1);
    assert.equal(delta('unlatch_agent_codes_sent_total', { method: 'email', result: 'sent' }), 1);
    assert.equal(m.value('unlatch_agent_relay_connected'), 1);
    const resetOps = (s: typeof m) => s.histogram('unlatch_agent_directory_operation_seconds', { operation: 'reset', result: 'ok' })?.count ?? 0;
    assert.equal(resetOps(m) - resetOps(before), 1);
    assert.ok((m.histogram('unlatch_agent_directory_operation_seconds', { operation: 'findUser', result: 'ok' })?.count ?? 0) >= 1);
  });

  it('failed checks and refused changes are counted by reason and method', async () => {
    const before = await scrape(agentMetrics);
    const reportBefore = report();
    const user = await stack.directory.createUser('opsfail', { state: 'normal' });

    let session = await stack.openSession();
    const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
    const gate = challenge.gates[0]!;
    const since = stack.mail.messages.length;
    expectOp(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
    const code = await stack.mail.codeFor(user.mail as string, { since });
    const wrong = code === '00000000' ? '11111111' : '00000000';
    assert.equal(expectOp(await session.request({ op: 'gate.verify', gate: gate.id, code: wrong }), 'error').code, 'GATE_FAILED');
    session.close();

    session = await stack.openSession();
    expectOp(await changePassword(session, user.sam, user.password, 'Second-Ops-Pass-2026'), 'done');
    session.close();
    session = await stack.openSession();
    const refused = expectOp(await changePassword(session, user.sam, 'Second-Ops-Pass-2026', user.password), 'error');
    session.close();
    assert.equal(refused.reason, 'history');

    const r = report();
    const count = (rep: AuditReport, action: string, code: string, reason: string | null) =>
      rep.failures.byReason.find((f) => f.action === action && f.code === code && f.reason === reason)?.count ?? 0;
    assert.equal(count(r, 'gate', 'GATE_FAILED', 'wrong') - count(reportBefore, 'gate', 'GATE_FAILED', 'wrong'), 1);
    assert.equal(count(r, 'change', 'POLICY_VIOLATION', 'history') - count(reportBefore, 'change', 'POLICY_VIOLATION', 'history'), 1);
    assert.equal(r.activity.change.succeeded - reportBefore.activity.change.succeeded, 1);
    const byMethod = (rep: AuditReport, method: string) => rep.failures.byMethod.find((f) => f.method === method)?.count ?? 0;
    assert.equal(byMethod(r, 'password') - byMethod(reportBefore, 'password'), 1);
    assert.equal(byMethod(r, 'email') - byMethod(reportBefore, 'email'), 1);

    const m = await scrape(agentMetrics);
    const delta = (labels: Record<string, string>) => m.value('unlatch_agent_outcomes_total', labels) - before.value('unlatch_agent_outcomes_total', labels);
    assert.equal(delta({ action: 'gate', code: 'GATE_FAILED' }), 1);
    assert.equal(delta({ action: 'change', code: 'OK' }), 1);
    assert.equal(delta({ action: 'change', code: 'POLICY_VIOLATION' }), 1);

    // `report --verify` agrees the chain is intact after all of it.
    const verify = agentFromSource(['report', '--file', auditFile, '--verify']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /hash chain intact/);
  });

  it('the relay\'s /metrics saw the same sessions', async () => {
    const m = await scrape(relayMetrics);
    assert.ok(m.value('unlatch_relay_sessions_opened_total', { tenant: stack.tenant }) >= 4);
    assert.equal(m.value('unlatch_relay_agents_online', { tenant: stack.tenant }), 1);
    assert.ok((m.histogram('unlatch_relay_agent_answer_seconds', { tenant: stack.tenant })?.count ?? 0) >= 8);
  });
});
