/**
 * Settings (extension/lib/settings.ts): managed policy read defensively — known keys only,
 * each validated on its own, problems named for the admin, last good policy cached.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_RULES } from '../../extension/lib/default-rules.ts';
import {
  DEFAULT_SETTINGS,
  loadSettings,
  missingRequired,
  NUDGE_KEY,
  parseNudge,
  parsePolicy,
  POLICY_CACHE_KEY,
  RULES_KEY,
  SETTING_KEYS,
  signingKeyPins,
  type StorageLike,
} from '../../extension/lib/settings.ts';

const PIN = 'q1Vb3yJ6p3h0mX0b1pWm2ZsF6bq0f5uYq2mH1cVxN0s';
const NEXT_PIN = 'B'.repeat(43);
const GOOD = {
  relayUrl: 'wss://relay.corp.example',
  tenant: 'acme',
  signingKeyPin: PIN,
  nextSigningKeyPin: NEXT_PIN,
  detectionRules: [{ urlPattern: 'https://sso.corp.example/*', textPattern: 'expired', outcome: 'expired', userField: '#user' }],
  allowUnlock: false,
  companyName: 'Acme',
  logoUrl: 'https://corp.example/logo.png',
  helpdeskUrl: 'mailto:help@corp.example',
  helpdeskText: 'Call 555-0100',
  registrationNudge: { urlPattern: 'https://portal.corp.example/*', userField: '#username', successSelector: '#welcome' },
};

function fakeStorage(managed: () => Promise<Record<string, unknown>>): StorageLike & { local: { data: Record<string, unknown> } } {
  const data: Record<string, unknown> = {};
  return {
    managed: { get: managed },
    local: {
      data,
      async get(key) {
        return typeof key === 'string' ? (key in data ? { [key]: data[key] } : {}) : { ...data };
      },
      async set(items) {
        Object.assign(data, structuredClone(items));
      },
      async remove(keys) {
        for (const k of Array.isArray(keys) ? keys : [keys]) delete data[k];
      },
    },
  };
}

const noSleep = async () => undefined;

describe('Settings', () => {
  describe('parsePolicy()', () => {
    it('takes every valid key from policy', () => {
      const { settings, problems, fromPolicy } = parsePolicy(GOOD);
      assert.deepEqual(problems, []);
      assert.deepEqual(settings, GOOD);
      assert.deepEqual([...fromPolicy].sort(), [...SETTING_KEYS].sort());
    });

    it('gives the documented defaults without policy', () => {
      const { settings, problems } = parsePolicy({});
      assert.deepEqual(settings, DEFAULT_SETTINGS);
      assert.deepEqual(problems, []);
      assert.deepEqual(missingRequired(settings), ['relayUrl', 'tenant', 'signingKeyPin']);
    });

    it('refuses bad values one by one, naming the key and the fix, and keeps the good ones', () => {
      const { settings, problems } = parsePolicy({
        ...GOOD,
        relayUrl: 'http://relay.corp.example',
        tenant: 'ACME corp',
        signingKeyPin: 'short',
        allowUnlock: 'yes',
        logoUrl: 'javascript:alert(1)',
        helpdeskUrl: 'javascript:alert(1)',
      });
      const keys = problems.map((p) => p.key).sort();
      assert.deepEqual(keys, ['allowUnlock', 'helpdeskUrl', 'logoUrl', 'relayUrl', 'signingKeyPin', 'tenant']);
      assert.match(problems.find((p) => p.key === 'relayUrl')?.message ?? '', /wss:\/\//);
      assert.equal(settings.relayUrl, undefined);
      assert.equal(settings.allowUnlock, true, 'default kept');
      assert.equal(settings.companyName, 'Acme', 'good keys survive');
    });

    it('takes a next signing-key pin for a rollover; both pins are used, a bad one is refused by name', () => {
      const { nextSigningKeyPin: _next, ...currentOnly } = GOOD;
      assert.deepEqual(signingKeyPins(parsePolicy(GOOD).settings), [PIN, NEXT_PIN]);
      assert.deepEqual(signingKeyPins(parsePolicy(currentOnly).settings), [PIN]);
      const bad = parsePolicy({ ...GOOD, nextSigningKeyPin: 'short' });
      assert.deepEqual(bad.problems.map((p) => p.key), ['nextSigningKeyPin']);
      assert.match(bad.problems[0]?.message ?? '', /rotate-signing-key/);
      assert.deepEqual(signingKeyPins(bad.settings), [PIN]);
      // The next pin alone is not a configuration: the current one stays required.
      assert.deepEqual(missingRequired(parsePolicy({ ...GOOD, signingKeyPin: undefined }).settings), ['signingKeyPin']);
    });

    it('accepts ws:// only for loopback relays', () => {
      assert.equal(parsePolicy({ relayUrl: 'ws://localhost:8443' }).settings.relayUrl, 'ws://localhost:8443');
      assert.equal(parsePolicy({ relayUrl: 'ws://relay.corp.example' }).settings.relayUrl, undefined);
    });

    it('reports unknown keys (a typo should not fail silently) and ignores them', () => {
      const { settings, problems } = parsePolicy({ ...GOOD, relayURL: 'wss://x.example' });
      assert.deepEqual(problems.map((p) => p.key), ['relayURL']);
      assert.equal(settings.relayUrl, GOOD.relayUrl);
    });

    it('drops only the invalid detection rules, with their index', () => {
      const { settings, problems } = parsePolicy({
        detectionRules: [
          { urlPattern: 'https://a.example/*', outcome: 'locked' },
          { urlPattern: 'https://b.example/*', outcome: 'frozen' },
          { urlPattern: 'https://c.example/*', outcome: 'expired', textPattern: '(' },
          { outcome: 'expired' },
          { urlPattern: 'https://d.example/*', outcome: 'expired', script: 'x' },
        ],
      });
      assert.deepEqual(settings.detectionRules, [{ urlPattern: 'https://a.example/*', outcome: 'locked' }]);
      assert.deepEqual(problems.map((p) => p.key), ['detectionRules[1]', 'detectionRules[2]', 'detectionRules[3]', 'detectionRules[4]']);
    });

    it('never throws, whatever policy holds', () => {
      for (const raw of [null, 42, 'x', [], { detectionRules: 'x' }, { detectionRules: [null, 1, []] }, { tenant: {} }]) {
        assert.doesNotThrow(() => parsePolicy(raw));
      }
    });
  });

  describe('loadSettings()', () => {
    it('reads policy, caches it and publishes admin rules before the built-in ones', async () => {
      const storage = fakeStorage(async () => structuredClone(GOOD));
      const loaded = await loadSettings(storage, { sleep: noSleep });
      assert.equal(loaded.source, 'policy');
      assert.deepEqual(storage.local.data[POLICY_CACHE_KEY], GOOD);
      const rules = storage.local.data[RULES_KEY] as unknown[];
      assert.deepEqual(rules[0], GOOD.detectionRules[0]);
      assert.equal(rules.length, 1 + DEFAULT_RULES.length);
    });

    it('retries while policy has not arrived yet on first start', async () => {
      let calls = 0;
      const storage = fakeStorage(async () => (++calls < 3 ? {} : structuredClone(GOOD)));
      const loaded = await loadSettings(storage, { attempts: 3, sleep: noSleep });
      assert.equal(loaded.source, 'policy');
      assert.equal(calls, 3);
    });

    it('falls back to the last good policy when managed storage cannot be read', async () => {
      const storage = fakeStorage(async () => structuredClone(GOOD));
      await loadSettings(storage, { sleep: noSleep });
      const broken = fakeStorage(async () => {
        throw new Error('Managed storage manifest not found');
      });
      Object.assign(broken.local.data, storage.local.data);
      const loaded = await loadSettings(broken, { sleep: noSleep });
      assert.equal(loaded.source, 'cache');
      assert.equal(loaded.settings.tenant, 'acme');
    });

    it('forgets the cache once the admin removes the policy', async () => {
      const storage = fakeStorage(async () => ({}));
      storage.local.data[POLICY_CACHE_KEY] = GOOD;
      const loaded = await loadSettings(storage, { sleep: noSleep });
      assert.equal(loaded.source, 'none');
      assert.equal(storage.local.data[POLICY_CACHE_KEY], undefined);
      assert.equal((storage.local.data[RULES_KEY] as unknown[]).length, DEFAULT_RULES.length);
    });
  });

  describe('registrationNudge', () => {
    it('takes a urlPattern with optional selectors, trimmed', () => {
      assert.deepEqual(parseNudge({ urlPattern: 'https://portal.corp.example/*', userField: ' #user ' }), {
        urlPattern: 'https://portal.corp.example/*',
        userField: '#user',
      });
    });
    it('refuses what it cannot use, naming the field', () => {
      assert.match(parseNudge('https://x/*') as string, /object/);
      assert.match(parseNudge({}) as string, /urlPattern/);
      assert.match(parseNudge({ urlPattern: 'javascript:*' }) as string, /urlPattern/);
      assert.match(parseNudge({ urlPattern: 'https://x/*', passwordField: '#pw' }) as string, /unknown field "passwordField"/);
      assert.match(parseNudge({ urlPattern: 'https://x/*', userField: '' }) as string, /userField/);
      const { settings, problems } = parsePolicy({ ...GOOD, registrationNudge: { userField: '#u' } });
      assert.equal(settings.registrationNudge, undefined);
      assert.deepEqual(problems.map((p) => p.key), ['registrationNudge']);
    });
    it('is written to storage.local for the content script (null without one)', async () => {
      const storage = fakeStorage(async () => GOOD);
      await loadSettings(storage, { sleep: noSleep });
      assert.deepEqual(storage.local.data[NUDGE_KEY], GOOD.registrationNudge);
      const none = fakeStorage(async () => ({}));
      await loadSettings(none, { attempts: 1, sleep: noSleep });
      assert.equal(none.local.data[NUDGE_KEY], null);
    });
  });

  describe('managed_schema.json', () => {
    const schema = JSON.parse(readFileSync(new URL('../../managed_schema.json', import.meta.url), 'utf8')) as {
      properties: Record<string, { title?: string; description?: string; items?: { properties: Record<string, { title?: string; description?: string }> } }>;
    };
    it('describes exactly the keys the extension reads, each with a title and description', () => {
      assert.deepEqual(Object.keys(schema.properties).sort(), [...SETTING_KEYS].sort());
      for (const [key, prop] of Object.entries(schema.properties)) {
        assert.ok(prop.title && prop.description, `${key} needs a title and a description`);
      }
      for (const [key, prop] of Object.entries(schema.properties['detectionRules']?.items?.properties ?? {})) {
        assert.ok(prop.title && prop.description, `detectionRules.${key} needs a title and a description`);
      }
      const nudge = schema.properties['registrationNudge'] as unknown as { properties: Record<string, { title?: string; description?: string }> };
      assert.deepEqual(Object.keys(nudge.properties).sort(), ['successSelector', 'urlPattern', 'userField']);
      for (const [key, prop] of Object.entries(nudge.properties)) {
        assert.ok(prop.title && prop.description, `registrationNudge.${key} needs a title and a description`);
      }
    });
  });
});
