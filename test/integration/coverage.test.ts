/**
 * Registration coverage in `unlatch-agent report` (run as a real command against the running
 * agent's config, store and the Samba DC): who in scope could prove who they are today, and
 * who could not — and the numbers move when real people register through client → relay →
 * agent; the registrations themselves are in the audit log.
 */
import assert from 'node:assert/strict';
import { chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditReport } from '../../agent/audit/report.ts';
import { CSV_COLUMNS } from '../../agent/audit/report.ts';
import type { Coverage } from '../../agent/gates/coverage.ts';
import { agentFromSource } from '../support/cli.ts';
import { expectOp } from '../support/flows.ts';
import { registerStart, registerTotp } from '../support/gates.ts';
import { sharedDirectory } from '../support/hooks.ts';
import { startStack, type Stack } from '../support/stack.ts';

describe('Registration coverage in `unlatch-agent report`', function () {
  this.timeout(120_000);
  let stack: Stack;
  let dir: string;
  let configFile: string;

  const cli = (...args: string[]) => agentFromSource(['report', '--config', configFile, ...args]);
  const report = (): AuditReport => {
    const run = cli('--json');
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as AuditReport;
  };
  const coverage = (r: AuditReport = report()): Coverage => {
    assert.ok(r.coverage && !('error' in r.coverage), `coverage missing: ${JSON.stringify(r.coverage)}`);
    return r.coverage;
  };
  const addedTotp = (r: AuditReport) => r.registration.changes.find((c) => c.change === 'added' && c.method === 'totp')?.count ?? 0;
  const notReady = (c: Coverage, sam: string) => c.notReadyUsers.find((u) => u.user === sam);
  const onFile = (c: Coverage, kind: string) => c.methods.find((m) => m.kind === kind)?.users ?? -1;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unlatch-coverage-'));
    stack = await startStack({
      agent: {
        audit: { file: join(dir, 'audit.log') },
        gates: { totp: { enabled: true }, privileged: { groups: [(await sharedDirectory()).psoGroupDN] } },
      },
    });
    // The running agent's own configuration, as the admin's agent.yaml would hold it.
    configFile = stack.writeAgentConfig(join(dir, 'agent.yaml'));
  });
  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts who can pass their checks, lists who cannot, and moves when people register', async () => {
    const d = stack.directory;
    const noMail = await d.createUser(d.uniqueName('cov'), { mail: null });
    const admin = await d.createUser(d.uniqueName('cadm'), { pso: true });
    const reportBefore = report();
    const before = coverage(reportBefore);

    // Seed users: alice has mail (ready); heidi has no contact data (not ready); erin is disabled
    // and frank protected (counted apart); grace is out of scope (nowhere).
    assert.equal(notReady(before, 'alice'), undefined);
    assert.deepEqual(notReady(before, 'heidi'), { user: 'heidi', privileged: false, has: [] });
    assert.deepEqual(notReady(before, noMail.sam), { user: noMail.sam, privileged: false, has: [] });
    // A privileged member with only a mail address falls short of the two checks asked of them.
    assert.deepEqual(notReady(before, admin.sam), { user: admin.sam, privileged: true, has: ['email'] });
    for (const sam of ['erin', 'frank', 'grace']) assert.equal(notReady(before, sam), undefined, sam);
    assert.ok(before.excluded.disabled >= 1 && before.excluded.protected >= 1);
    assert.equal(before.ready + before.notReady, before.eligible);
    assert.ok(before.privileged.eligible >= 1);

    // Both register an authenticator app, through the extension's protocol.
    for (const user of [noMail, admin]) {
      const session = await stack.openSession();
      expectOp(await registerStart(session, user.sam, user.password), 'registration');
      const { view } = await registerTotp(session);
      assert.equal(view.complete, true);
      session.close();
    }

    const reportAfter = report();
    const after = coverage(reportAfter);
    // The same registrations, as the audit log tells them.
    assert.equal(reportAfter.registration.signIns - reportBefore.registration.signIns, 2);
    assert.equal(addedTotp(reportAfter) - addedTotp(reportBefore), 2);
    assert.equal(notReady(after, noMail.sam), undefined);
    assert.equal(notReady(after, admin.sam), undefined);
    assert.equal(after.eligible, before.eligible);
    assert.equal(after.ready - before.ready, 2);
    assert.equal(after.selfRegistered - before.selfRegistered, 2);
    assert.equal(onFile(after, 'totp') - onFile(before, 'totp'), 2);
    assert.equal(after.privileged.ready - before.privileged.ready, 1);
    assert.equal(onFile(after, 'email'), onFile(before, 'email'));
  });

  it('shows in the table and the CSV; --no-coverage leaves it out; an unreachable DC is named, and the audit part still stands', () => {
    const table = cli();
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /Registration coverage of the users in scope/);
    assert.match(table.stdout, /^ {2}heidi +nothing/m);

    const csv = cli('--csv');
    assert.equal(csv.status, 0, csv.stderr);
    const rows = csv.stdout.trimEnd().split('\r\n');
    assert.equal(rows[0], CSV_COLUMNS.join(','));
    assert.ok(rows.includes('coverage,,not_ready_user,,,,heidi,1'), 'heidi has a not_ready_user row');
    assert.ok(rows.some((r) => /^coverage,,eligible,,,,,\d+$/.test(r)));

    const without = cli('--json', '--no-coverage');
    assert.equal(without.status, 0, without.stderr);
    assert.equal((JSON.parse(without.stdout) as AuditReport).coverage, null);

    // The same config pointing at a DC port nobody listens on.
    const deadConfig = stack.writeAgentConfig(join(dir, 'dead.yaml'), { directory: { urls: ['ldaps://127.0.0.1:1'], timeoutMs: 1000 } });
    const dead = agentFromSource(['report', '--config', deadConfig, '--json']);
    assert.equal(dead.status, 0, dead.stderr);
    const report = JSON.parse(dead.stdout) as AuditReport;
    assert.ok(report.coverage && 'error' in report.coverage);
    assert.match(report.coverage.error, /127\.0\.0\.1:1/);
    assert.match(dead.stderr, /registration coverage is not available/);
    assert.ok(report.integrity.ok);
  });

  it("never opens the store as another user than its owner (SQLite would leave files the agent can't write)", function () {
    if (process.getuid?.() !== 0) this.skip(); // needs root to hand the store to another user; CI runs as root
    const storeDir = join(dir, 'other-owner');
    mkdirSync(storeDir);
    const store = join(storeDir, 'state.db');
    copyFileSync(stack.agentConfig.store.file as string, store);
    chownSync(store, 65534, 65534);
    const otherConfig = stack.writeAgentConfig(join(dir, 'other-owner.yaml'), { store: { file: store } });
    const run = agentFromSource(['report', '--config', otherConfig, '--json']);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as AuditReport;
    assert.ok(report.coverage && 'error' in report.coverage);
    assert.match(report.coverage.error, /owned by uid 65534: run the report as the agent's user/);
    assert.deepEqual(readdirSync(storeDir), ['state.db'], 'the report left files beside the store');
  });
});
