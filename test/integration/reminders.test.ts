/**
 * Password-expiry reminders against the real Samba DC (which computes
 * msDS-UserPasswordExpiryTimeComputed: domain maximum age 42 days, the PSO's 90 days) and a real
 * SMTP server. "Today" is moved with the `now` the run is given, so a password set a moment ago
 * can be 7 days or 12 hours from expiry.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { searchPasswordExpiries } from '../../agent/directory/expiry.ts';
import { Directory } from '../../agent/directory/index.ts';
import type { EventFields, EventName } from '../../agent/events.ts';
import { createMailer, type Mailer } from '../../agent/notify/mailer.ts';
import { dueThreshold, RemindersBusyError, runReminders, shouldRun, type ReminderDeps, type ReminderSettings } from '../../agent/reminders/index.ts';
import { lockReminders } from '../../agent/reminders/state.ts';
import type { TestDirectory } from '../support/directory.ts';
import { sharedDirectory } from '../support/hooks.ts';
import { startMailCatcher, type MailCatcher } from '../support/mail.ts';
import { startStack, type Stack } from '../support/stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DAY = 86_400_000;
const LINK = 'https://password.corp.example/change';

describe('password-expiry reminders', function () {
  this.timeout(120_000);

  describe('dueThreshold() and shouldRun()', () => {
    const now = Date.UTC(2026, 0, 10, 8);
    it('picks the smallest threshold the days left fit in, none outside or once expired', () => {
      const days = [14, 7, 1];
      assert.equal(dueThreshold(now + 20 * DAY, now, days), undefined);
      assert.equal(dueThreshold(now + 14 * DAY, now, days), 14);
      assert.equal(dueThreshold(now + 10 * DAY, now, days), 14);
      assert.equal(dueThreshold(now + 5 * DAY, now, days), 7);
      assert.equal(dueThreshold(now + DAY / 2, now, [1, 14, 7]), 1);
      assert.equal(dueThreshold(now - 1000, now, days), undefined);
    });

    it('runs hourly, or once a day in the configured local hour', () => {
      assert.equal(shouldRun(undefined, now, undefined), true);
      assert.equal(shouldRun(now - 30 * 60_000, now, undefined), false);
      assert.equal(shouldRun(now - 60 * 60_000, now, undefined), true);
      const at9 = new Date(2026, 0, 10, 9, 5).getTime();
      assert.equal(shouldRun(undefined, at9, 9), true);
      assert.equal(shouldRun(undefined, at9, 10), false);
      assert.equal(shouldRun(at9 - 2 * 60_000, at9 + 30 * 60_000, 9), false, 'already ran today');
      assert.equal(shouldRun(at9 - DAY, at9, 9), true);
    });
  });

  describe('the state file lock', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'unlatch-reminders-lock-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps a second run out while one holds it, and takes over one left by a process that is gone', () => {
      const file = join(dir, 'state.json');
      const release = lockReminders(file);
      assert.throws(() => lockReminders(file), RemindersBusyError);
      release();
      lockReminders(file)();
      // A crashed run's lock: a pid that does not exist, or our own pid from a previous life.
      for (const pid of [2 ** 22 + 12345, process.pid]) {
        writeFileSync(`${file}.lock`, `${pid}\n`);
        lockReminders(file)();
      }
      assert.equal(existsSync(`${file}.lock`), false);
    });
  });

  describe('searchPasswordExpiries() on a DC that does not compute the expiry', () => {
    it('adds the maximum age of the user\'s policy (PSO, else domain) to pwdLastSet; 0 means never', async () => {
      const fileTime = (ms: number) => String(BigInt(ms + 11_644_473_600_000) * 10_000n);
      const set = Date.UTC(2026, 0, 1);
      const entries = [
        { dn: 'CN=a,OU=P,DC=x', sAMAccountName: 'a', pwdLastSet: fileTime(set), mail: 'a@x' },
        { dn: 'CN=b,OU=P,DC=x', sAMAccountName: 'b', pwdLastSet: fileTime(set), 'msDS-ResultantPSO': 'CN=pso', mail: [] },
        { dn: 'CN=c,OU=P,DC=x', sAMAccountName: 'c', pwdLastSet: fileTime(set), 'msDS-ResultantPSO': 'CN=never' },
        { dn: 'CN=d,OU=P,DC=x', sAMAccountName: 'd', pwdLastSet: fileTime(set), 'msDS-UserPasswordExpiryTimeComputed': '9223372036854775807' },
      ];
      const client = { search: async () => ({ searchEntries: entries, searchReferences: [] }) } as unknown as Parameters<typeof searchPasswordExpiries>[0];
      const ages: Record<string, number> = { domain: 42 * 86400, 'CN=pso': 90 * 86400, 'CN=never': 0 };
      const list = await searchPasswordExpiries(client, 'DC=x', undefined, async (pso) => ages[pso ?? 'domain'] as number);
      const by = Object.fromEntries(list.map((e) => [e.sam, e]));
      assert.deepEqual([by['a']?.expiresAt?.getTime(), by['a']?.source, by['a']?.mail], [set + 42 * DAY, 'policy', ['a@x']]);
      assert.equal(by['b']?.expiresAt?.getTime(), set + 90 * DAY);
      assert.equal(by['c']?.expiresAt, null);
      assert.deepEqual([by['d']?.expiresAt, by['d']?.source], [null, 'dc']);
    });
  });

  describe('with the test directory', () => {
    let dir: TestDirectory;
    let mail: MailCatcher;
    let mailer: Mailer;
    let directory: Directory;
    let work: string;
    let n = 0;

    before(async () => {
      dir = await sharedDirectory();
      mail = await startMailCatcher();
      mailer = createMailer({ host: mail.host, port: mail.port, secure: false, requireTLS: true, caFile: mail.caFile, from: 'IT <it@corp.example>' }, undefined);
      directory = new Directory({
        urls: [dir.ldapsUrl],
        baseDN: dir.baseDN,
        bindDN: dir.service.dn,
        bindPassword: dir.service.password,
        caPem: dir.caPem,
        scopeGroupDN: dir.scopeGroupDN,
      });
      work = mkdtempSync(join(tmpdir(), 'unlatch-reminders-'));
    });
    after(async () => {
      mailer?.close();
      await directory?.close();
      await mail?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const mailsTo = (address: string | undefined) => mail.messages.filter((m) => m.to.includes((address ?? '').toLowerCase()));

    function setup(days: number[] = [14, 7, 1]) {
      const events: Array<[EventName, EventFields]> = [];
      const clock = { now: Date.now() };
      const settings: ReminderSettings = { days, link: LINK, stateFile: join(work, `state-${++n}.json`) };
      const deps: ReminderDeps = {
        expiries: () => directory.passwordExpiries(),
        send: (to, message) => mailer.sendNotice([to], message),
        emit: (name, fields) => void events.push([name, fields]),
        now: () => clock.now,
      };
      return { events, clock, settings, deps };
    }

    it('reads when each password expires as the DC computes it (fine-grained policy included), and leaves out who gets none', async () => {
      const [normal, pso, outside, disabled, mustChange, protectedUser] = await Promise.all([
        dir.createUser(dir.uniqueName('rxn')),
        dir.createUser(dir.uniqueName('rxp'), { pso: true }),
        dir.createUser(dir.uniqueName('rxo'), { inScope: false }),
        dir.createUser(dir.uniqueName('rxd'), { state: 'disabled' }),
        dir.createUser(dir.uniqueName('rxm'), { state: 'must_change' }),
        dir.createUser(dir.uniqueName('rxa'), { state: 'protected' }),
      ]);
      const list = await directory.passwordExpiries();
      const find = (dn: string) => list.find((e) => e.dn.toLowerCase() === dn.toLowerCase());
      const age = async (u: { sam: string; dn: string }) => {
        const e = find(u.dn);
        assert.ok(e, `${u.sam} missing`);
        const raw = (await dir.readUser(u.sam))['pwdLastSet']?.[0] as string;
        assert.equal(e.pwdLastSet, raw);
        assert.equal(e.source, 'dc');
        const set = Number(BigInt(raw) / 10_000n - 11_644_473_600_000n);
        return Math.round(((e.expiresAt as Date).getTime() - set) / DAY);
      };
      assert.equal(await age(normal), 42);
      assert.equal(await age(pso), 90);
      for (const u of [outside, disabled, mustChange, protectedUser]) assert.equal(find(u.dn), undefined, u.sam);
    });

    it('mails a user inside the window once per threshold, nobody outside it, and nothing on a dry run', async () => {
      const [inside, later, outside] = await Promise.all([
        dir.createUser(dir.uniqueName('rmi')),
        dir.createUser(dir.uniqueName('rml'), { pso: true }), // 90 days: outside the window
        dir.createUser(dir.uniqueName('rmo'), { inScope: false }),
      ]);
      const { events, clock, settings, deps } = setup();
      const created = Date.now();
      clock.now = created + 35 * DAY; // 42-day passwords: 7 days left

      const dry = await runReminders(settings, deps, { dryRun: true });
      const mine = dry.outcomes.find((o) => o.dn === inside.dn);
      assert.deepEqual({ status: mine?.status, threshold: mine?.threshold, to: mine?.to }, { status: 'would_send', threshold: 7, to: inside.mail });
      assert.equal(mailsTo(inside.mail).length, 0);
      assert.equal(existsSync(settings.stateFile), false);
      assert.equal(events.length, 0);

      const first = await runReminders(settings, deps);
      assert.equal(first.outcomes.find((o) => o.dn === inside.dn)?.status, 'sent');
      const got = await mail.waitFor(inside.mail as string);
      assert.equal(got.subject, 'Your password expires in 6 days');
      assert.match(got.text, new RegExp(`account ${inside.upn} expires in 6 days, on \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC`));
      assert.ok(got.text.includes(LINK));
      assert.ok(!got.raw.includes(inside.password), 'no secret in the mail');
      assert.equal(mailsTo(later.mail).length, 0);
      assert.equal(mailsTo(outside.mail).length, 0);
      assert.ok(events.some(([name, f]) => name === 'ExpiryReminderSent' && f['user'] === inside.dn && f['threshold'] === 7));
      assert.ok(events.some(([name]) => name === 'ExpiryRemindersDone'));

      await runReminders(settings, deps);
      clock.now = created + 40 * DAY; // 2 days left: still the 7-day threshold
      const again = await runReminders(settings, deps);
      assert.equal(again.outcomes.find((o) => o.dn === inside.dn)?.status, 'already_sent');
      assert.equal(mailsTo(inside.mail).length, 1);

      clock.now = created + 41.5 * DAY; // 12 hours left: the 1-day threshold
      await runReminders(settings, deps);
      await runReminders(settings, deps);
      const both = mailsTo(inside.mail);
      assert.equal(both.length, 2);
      assert.match(both[1]?.subject ?? '', /^Your password expires within 1[12] hours$/);
      assert.equal(mailsTo(later.mail).length, 0);
    });

    it('starts afresh after a new password, and forgets the old one', async () => {
      const user = await dir.createUser(dir.uniqueName('rmr'));
      const { clock, settings, deps } = setup();
      clock.now = Date.now() + 35 * DAY;
      await runReminders(settings, deps);
      assert.equal(mailsTo(user.mail).length, 1);

      const found = await directory.findUser(user.sam);
      assert.ok(found);
      await new Promise((r) => setTimeout(r, 1100)); // pwdLastSet has 100 ns steps, but be sure it moves
      await directory.reset(found, 'Reminder-Reset-Pass-2026!');
      clock.now = Date.now() + 35 * DAY;
      await runReminders(settings, deps);
      assert.equal(mailsTo(user.mail).length, 2);
      const state = JSON.parse(readFileSync(settings.stateFile, 'utf8')) as { sent: Record<string, { dn: string }> };
      assert.equal(Object.values(state.sent).filter((e) => e.dn === user.dn).length, 1);
    });

    it('reports a failed send and sends it at the next run', async () => {
      const user = await dir.createUser(dir.uniqueName('rmf'));
      const { events, clock, settings, deps } = setup();
      clock.now = Date.now() + 35 * DAY;
      const failing: ReminderDeps = {
        ...deps,
        send: async (to, m) => {
          if (to === user.mail) throw new Error('451 try again later');
          await deps.send(to, m);
        },
      };
      const first = await runReminders(settings, failing);
      assert.deepEqual(first.outcomes.find((o) => o.dn === user.dn)?.status, 'failed');
      assert.ok(events.some(([name, f]) => name === 'ExpiryReminderFail' && f['user'] === user.dn && /451/.test(String(f['error']))));
      assert.equal(mailsTo(user.mail).length, 0);
      await runReminders(settings, deps);
      assert.equal(mailsTo(user.mail).length, 1);
    });

    it('unlatch-agent remind: --dry-run lists and sends nothing; a run sends each reminder once', async () => {
      const user = await dir.createUser(dir.uniqueName('rmc'));
      writeFileSync(join(work, 'bind.secret'), dir.service.password, { mode: 0o600 });
      writeFileSync(join(work, 'tenant.secret'), 'x'.repeat(43), { mode: 0o600 });
      writeFileSync(join(work, 'ldap-ca.pem'), dir.caPem);
      const stateFile = join(work, 'cli-reminders.json');
      const file = join(work, 'agent.yaml');
      writeFileSync(
        file,
        stringify({
          tenant: 'acme',
          relay: { url: 'wss://relay.invalid', secret: { file: 'tenant.secret' } },
          keys: { dir: 'keys' },
          directory: { urls: [dir.ldapsUrl], baseDN: dir.baseDN, bindDN: dir.service.dn, bindPassword: { file: 'bind.secret' }, caFile: 'ldap-ca.pem', scopeGroupDN: dir.scopeGroupDN },
          smtp: { host: mail.host, port: mail.port, requireTLS: true, caFile: mail.caFile, from: 'IT <it@corp.example>' },
          // 50 days: every fresh 42-day password is inside the window today, no clock tricks needed.
          reminders: { enabled: true, days: [50], link: LINK, stateFile },
          log: { level: 'error' },
        }),
      );
      const cli = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['bin/unlatch-agent.js', 'remind', '--config', file, ...args], { cwd: ROOT });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
        });

      const dry = await cli(['--dry-run', '--json']);
      assert.equal(dry.code, 0, dry.stderr);
      const preview = JSON.parse(dry.stdout) as { dryRun: boolean; outcomes: Array<{ dn: string; status: string; threshold: number }> };
      assert.equal(preview.dryRun, true);
      assert.deepEqual(preview.outcomes.find((o) => o.dn === user.dn), { ...preview.outcomes.find((o) => o.dn === user.dn), status: 'would_send', threshold: 50 });
      assert.equal(mailsTo(user.mail).length, 0);
      assert.equal(existsSync(stateFile), false);

      const text = await cli(['--dry-run']);
      assert.match(text.stdout, /^Dry run: nothing is sent or recorded\./);
      assert.ok(text.stdout.split('\n').some((l) => l.startsWith('would send') && l.includes(user.dn)));

      const real = await cli(['--json']);
      assert.equal(real.code, 0, real.stderr);
      assert.equal((JSON.parse(real.stdout) as { outcomes: Array<{ dn: string; status: string }> }).outcomes.find((o) => o.dn === user.dn)?.status, 'sent');
      await mail.waitFor(user.mail as string);
      const second = await cli(['--json']);
      assert.equal((JSON.parse(second.stdout) as { outcomes: Array<{ dn: string; status: string }> }).outcomes.find((o) => o.dn === user.dn)?.status, 'already_sent');
      assert.equal(mailsTo(user.mail).length, 1);
    });
  });

  describe('in the running agent', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ agent: { reminders: { enabled: true, days: [50], link: LINK } } });
    });
    after(async () => {
      await stack?.stop();
    });

    it('is wired to the directory and the mailer, with its state beside the audit log', async () => {
      const user = await stack.directory.createUser(stack.directory.uniqueName('rma'));
      assert.ok(stack.agent?.reminders);
      const result = await stack.agent.reminders.runNow();
      assert.equal(result.outcomes.find((o) => o.dn === user.dn)?.status, 'sent');
      const got = await stack.mail.waitFor(user.mail as string);
      assert.match(got.subject, /^Your password expires in 4[12] days$/);
      assert.equal(stack.agentConfig.reminders.stateFile, join(stack.agentDir, 'reminders.json'));
      assert.ok(existsSync(stack.agentConfig.reminders.stateFile as string));
      assert.equal((await stack.agent.reminders.runNow()).outcomes.find((o) => o.dn === user.dn)?.status, 'already_sent');
    });
  });
});
