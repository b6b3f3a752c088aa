/**
 * The pieces of the gates that need no directory: the store's atomic operations, the throttle,
 * policies, answers, phone numbers, TOTP, the SMS gateway's templates and the config rules.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig } from '../../agent/config.ts';
import { OneTimeCodes } from '../../agent/gates/codes.ts';
import { countryAllowed, parsePhone } from '../../agent/gates/phone.ts';
import { kindOf, policyFor, remaining, satisfiable } from '../../agent/gates/policy.ts';
import { answerMatches, hashAnswer, normaliseAnswer, questionCatalogue, questionText } from '../../agent/gates/questions.ts';
import { Throttle } from '../../agent/gates/throttle.ts';
import { newTotpSecret, totpNow, totpStep } from '../../agent/gates/totp.ts';
import { renderTemplate } from '../../agent/notify/phone.ts';
import { renderNotice } from '../../agent/notify/notices.ts';
import { openSqliteStore, StoreKeys, type AgentStore } from '../../agent/store/index.ts';

describe('gates (unit)', () => {
  let dir: string;
  let store: AgentStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'unlatch-gates-'));
    store = openSqliteStore(join(dir, 'state.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('store (SQLite)', () => {
    it('is created readable by the agent only', () => {
      assert.equal(statSync(join(dir, 'state.db')).mode & 0o777, 0o600);
    });

    it('consumes a code once, whatever the number of parallel checks', async () => {
      const codes = new OneTimeCodes(store, Buffer.alloc(32, 1), () => 1000);
      const code = await codes.issue('slot-a', 8, 60_000);
      assert.match(code, /^\d{8}$/);
      const results = await Promise.all(Array.from({ length: 50 }, () => codes.check('slot-a', code)));
      assert.equal(results.filter((r) => r === 'ok').length, 1);
      assert.equal(results.filter((r) => r === 'expired').length, 49);
    });

    it('voids the previous code when a new one is issued, and expires codes', async () => {
      let now = 1000;
      const codes = new OneTimeCodes(store, Buffer.alloc(32, 1), () => now);
      const first = await codes.issue('slot-b', 8, 60_000);
      const second = await codes.issue('slot-b', 8, 60_000);
      if (first !== second) assert.equal(await codes.check('slot-b', first), 'wrong');
      now += 60_001;
      assert.equal(await codes.check('slot-b', second), 'expired');
    });

    it('keeps only a keyed digest of a code', async () => {
      const codes = new OneTimeCodes(store, Buffer.alloc(32, 2), () => 1000);
      const code = await codes.issue('slot-c', 10, 60_000);
      const { readFileSync, existsSync } = await import('node:fs');
      const file = join(dir, 'state.db');
      const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)));
      assert.equal(bytes.indexOf(code), -1);
    });

    it('counts parallel attempts exactly and caps counters atomically', async () => {
      const counts = await Promise.all(Array.from({ length: 20 }, () => store.addAttempt('s1', 'fail:email', 5000, 0)));
      assert.deepEqual(counts.map((c) => c.count).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      const added = await Promise.all(Array.from({ length: 10 }, () => store.addToCounter('day', 3, 100, 200)));
      assert.equal(added.filter(Boolean).length, 3);
      assert.equal(await store.counterValue('day', 150), 3);
      assert.equal(await store.addToCounter('day', 3, 200, 300), true, 'a new period starts from 0');
    });

    it('accepts each TOTP step once, and only newer ones', async () => {
      await store.addMethod('s2', { id: 't1', method: 'totp', secret: Buffer.from('x'), lastStep: 10, created: 1 }, 1);
      assert.equal(await store.advanceTotpStep('s2', 't1', 10), false);
      const parallel = await Promise.all(Array.from({ length: 10 }, () => store.advanceTotpStep('s2', 't1', 11)));
      assert.equal(parallel.filter(Boolean).length, 1);
      assert.equal(await store.advanceTotpStep('s2', 't1', 9), false);
    });
  });

  describe('store keys', () => {
    it('seal to a context: another context, or a changed byte, does not open', () => {
      const keys = StoreKeys.loadOrCreate(join(dir, 'store.key'));
      assert.equal(statSync(join(dir, 'store.key')).mode & 0o777, 0o600);
      const sealed = keys.seal('+4915123456789', 'contact|guid:1|r1');
      assert.equal(sealed.indexOf('+4915123456789'), -1);
      assert.equal(keys.open(sealed, 'contact|guid:1|r1').toString(), '+4915123456789');
      assert.throws(() => keys.open(sealed, 'contact|guid:2|r1'));
      sealed[20] = (sealed[20] as number) ^ 1;
      assert.throws(() => keys.open(sealed, 'contact|guid:1|r1'));
      assert.deepEqual(StoreKeys.loadOrCreate(join(dir, 'store.key')).key('codes'), keys.key('codes'), 'the same file, the same keys');
      assert.notDeepEqual(keys.key('codes'), keys.key('decoy'));
    });
  });

  describe('throttle', () => {
    it('blocks on the 5th failure of one method in an hour, refuses the 6th unchecked, and lifts after the block', async () => {
      let now = 10_000_000;
      const t = new Throttle(store, { maxFailuresPerHour: 5, maxResetsPerHour: 5, blockMs: 24 * 3_600_000, maxSendsPerHour: 10 }, () => now);
      for (let i = 1; i <= 4; i++) assert.equal(await t.recordFailure('p', 'sms'), false);
      assert.equal(await t.recordFailure('p', 'email'), false, 'other methods count apart');
      assert.equal(await t.recordFailure('p', 'sms'), true);
      assert.equal(await t.isBlocked('p'), true);
      assert.equal((await t.attempt('p', 'sms')).refused, true);
      now += 24 * 3_600_000 + 1;
      assert.equal(await t.isBlocked('p'), false);
      assert.equal((await t.attempt('p', 'sms')).refused, false, 'the hour has long passed');
    });

    it('does not count a success', async () => {
      const t = new Throttle(store, { maxFailuresPerHour: 2, maxResetsPerHour: 5, blockMs: 1000, maxSendsPerHour: 10 }, () => 20_000_000);
      for (let i = 0; i < 5; i++) await t.succeeded(await t.attempt('ok-person', 'email'));
      assert.equal(await t.isBlocked('ok-person'), false);
    });
  });

  describe('policy', () => {
    it('needs two different kinds for two checks, and never accepts questions alone', () => {
      assert.equal(kindOf('sms'), kindOf('voice'));
      assert.equal(remaining(1, new Set(['questions'])), 1);
      assert.equal(remaining(1, new Set(['email'])), 0);
      assert.equal(remaining(2, new Set(['phone'])), 1);
      assert.equal(remaining(2, new Set(['phone', 'questions'])), 0);
      assert.equal(satisfiable(1, new Set(['questions'])), false);
      assert.equal(satisfiable(2, new Set(['email', 'questions'])), true);
      assert.deepEqual(policyFor({ required: 1, privileged: { required: 2, questions: false } }, true), { required: 2, questionsAllowed: false, privileged: true });
    });
  });

  describe('questions', () => {
    it('normalise case, accents, punctuation and spacing', () => {
      assert.equal(normaliseAnswer('  Grundschule  MÜLLERSTRAßE! '), 'grundschule mullerstrasse');
      assert.equal(normaliseAnswer('Élan-Vital'), normaliseAnswer('elan vital'));
      assert.equal(normaliseAnswer('Ｒｅｘ'), 'rex');
    });

    it('are localised, with English as the fallback', () => {
      const q = questionCatalogue([], true).find((x) => x.id === 'first-pet')!;
      assert.equal(questionText(q, 'de-AT'), 'Wie hieß Ihr erstes Haustier?');
      assert.equal(questionText(q, 'pt'), 'What was the name of your first pet?');
      assert.equal(questionCatalogue([{ id: 'own', text: { en: 'Own?' } }], false).length, 1);
    });

    it('hash answers with a salted, peppered scrypt, and compare them', async () => {
      const pepper = Buffer.alloc(32, 3);
      const a = await hashAnswer(pepper, 'first-pet', 'rex', 10);
      const b = await hashAnswer(pepper, 'first-pet', 'rex', 10);
      assert.notDeepEqual(a, b, 'salted');
      assert.equal(a.indexOf('rex'), -1);
      assert.equal(await answerMatches(pepper, 'first-pet', 'rex', a, 10), true);
      assert.equal(await answerMatches(pepper, 'first-pet', 'max', a, 10), false);
      assert.equal(await answerMatches(pepper, 'first-car', 'rex', a, 10), false, 'bound to its question');
      assert.equal(await answerMatches(Buffer.alloc(32, 4), 'first-pet', 'rex', a, 10), false, 'bound to the pepper');
      assert.equal(await answerMatches(pepper, 'first-pet', 'rex', undefined, 10), false);
    });
  });

  describe('phone numbers', () => {
    it('parse to E.164 with the country, and hold to the allow-list', () => {
      assert.deepEqual(parsePhone('+1 (202) 555-0123'), { e164: '+12025550123', country: 'US' });
      assert.deepEqual(parsePhone('0151 23456789', 'DE'), { e164: '+4915123456789', country: 'DE' });
      assert.equal(parsePhone('+1 876 555 1234')?.country, 'JM', '+1 is not always the USA');
      assert.equal(parsePhone('12345'), null);
      assert.equal(countryAllowed(parsePhone('+18765551234')!, ['US', 'CA']), false);
      assert.equal(countryAllowed(parsePhone('+12025550123')!, ['US']), true);
      assert.equal(countryAllowed(parsePhone('+12025550123')!, []), false);
    });
  });

  describe('TOTP', () => {
    it('accepts the current step and one either side, not two', () => {
      const secret = newTotpSecret();
      const s = { issuer: 'acme', digits: 6, periodSeconds: 30, window: 1 };
      const now = 1_800_000_000_000;
      const step = Math.floor(now / 30_000);
      assert.equal(totpStep(secret, totpNow(secret, now, s), now, s), step);
      assert.equal(totpStep(secret, totpNow(secret, now - 30_000, s), now, s), step - 1);
      assert.equal(totpStep(secret, totpNow(secret, now + 30_000, s), now, s), step + 1);
      assert.equal(totpStep(secret, totpNow(secret, now - 60_000, s), now, s), null);
      assert.equal(totpStep(secret, 'abcdef', now, s), null);
    });
  });

  describe('SMS gateway templates', () => {
    it('substitute into strings only, so a value cannot break the JSON', () => {
      const body = renderTemplate({ to: '{{to}}', text: '{{message}}', nested: ['{{channel}}', 3] }, { to: '+1', message: 'a"b\\c', channel: 'sms' });
      assert.deepEqual(body, { to: '+1', text: 'a"b\\c', nested: ['sms', 3] });
      assert.deepEqual(JSON.parse(JSON.stringify(body)), body);
    });
  });

  describe('notices', () => {
    it('say when, from where, how, and where to turn — without secrets', () => {
      const { subject, text } = renderNotice(
        { kind: 'reset', account: 'alice', time: Date.UTC(2026, 10, 23, 20, 14, 7), source: '203.0.113.7', method: 'e-mail code (a•••@corp.example)' },
        { organisation: 'ACME', helpdeskUrl: 'https://help.example' },
      );
      assert.equal(subject, 'Your password was reset (ACME)');
      assert.match(text, /When: {2}2026-11-23 20:14:07 UTC/);
      assert.match(text, /From: {2}203\.0\.113\.7/);
      assert.match(text, /Wasn't you\? Contact your help desk now: https:\/\/help\.example/);
    });
  });

  describe('config', () => {
    const base = {
      tenant: 'acme',
      relay: { url: 'wss://relay.example', secret: { env: 'X' } },
      keys: { dir: '/var/lib/unlatch/keys' },
      directory: { urls: ['ldaps://dc1'], baseDN: 'DC=corp,DC=example', bindDN: 'CN=svc', bindPassword: { env: 'Y' } },
      smtp: { host: 'mail', from: 'unlatch@corp.example' },
    };
    const problems = (gates: unknown): string[] => {
      try {
        parseAgentConfig({ ...base, gates });
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };

    it('has the documented defaults', () => {
      const c = parseAgentConfig(base, '/etc/unlatch');
      assert.equal(c.gates.required, 1);
      assert.equal(c.gates.email.codeDigits, 8);
      assert.equal(c.gates.email.ttlSeconds, 600);
      assert.equal(c.gates.maxFailuresPerHour, 5);
      assert.equal(c.gates.blockHours, 24);
      assert.deepEqual(c.gates.privileged, { groups: [], required: 2, questions: false });
      assert.equal(c.gates.questions.hashCost, 15);
      assert.equal(c.store.file, '/var/lib/unlatch/state.db');
      assert.equal(c.store.keyFile, '/var/lib/unlatch/keys/store.key');
    });

    it('refuses combinations that cannot work, naming the path', () => {
      assert.ok(problems({ sms: { enabled: true } }).some((p) => p.startsWith('gates.sms.enabled')));
      assert.ok(problems({ required: 2 }).some((p) => p.startsWith('gates.required')), 'two checks with e-mail only');
      assert.ok(problems({ email: { enabled: false }, questions: { enabled: true } }).some((p) => p.startsWith('gates.email.enabled')), 'questions alone');
      assert.ok(problems({ questions: { register: 2, answer: 3 } }).some((p) => p.startsWith('gates.questions.answer')));
      assert.ok(problems({ email: { codeDigits: 6 } }).some((p) => p.startsWith('gates.email.codeDigits')), 'codes have at least 8 digits');
      const gateway = (url: string) => ({ sms: { enabled: true }, phone: { countries: ['DE'], gateway: { url, body: {} } } });
      assert.ok(problems(gateway('http://sms.example/send')).some((p) => p.startsWith('gates.phone.gateway.url')), 'no plain http off loopback');
      assert.deepEqual(problems(gateway('http://127.0.0.1:8080/send')), []);
      assert.deepEqual(problems(gateway('https://sms.example/send')), []);
      assert.deepEqual(problems({ required: 2, totp: { enabled: true } }), []);
    });
  });
});
