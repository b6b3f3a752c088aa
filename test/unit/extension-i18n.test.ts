/**
 * Translations (_locales): every error code has a message and a "what to do next" line, every
 * policy reason a message, every key the extension uses exists, in English and German alike.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, POLICY_REASONS } from '../../protocol/errors.ts';
import { ACTIONS, GATE_METHODS } from '../../protocol/messages.ts';
import type { RuleId } from '../../extension/lib/password-rules.ts';
import { describeError } from '../../extension/lib/errors.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const LOCALES = readdirSync(join(ROOT, '_locales'));
type Messages = Record<string, { message: string }>;
const messages = (lang: string): Messages => JSON.parse(readFileSync(join(ROOT, '_locales', lang, 'messages.json'), 'utf8')) as Messages;

/** Every literal key passed to t(…) / getMessage(…) or listed in KEYS tables in extension/. */
function usedKeys(): Set<string> {
  const keys = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name)) {
        const src = readFileSync(path, 'utf8');
        for (const m of src.matchAll(/\bt\('([A-Za-z0-9_]+)'/g)) keys.add(m[1] as string);
        for (const m of src.matchAll(/getMessage\('([A-Za-z0-9_]+)'\)/g)) keys.add(m[1] as string);
        for (const m of src.matchAll(/'(banner[A-Za-z]+|stage[A-Za-z]+|strength\d|intro[A-Za-z]+|optStatus[A-Za-z]+)'/g)) keys.add(m[1] as string);
      }
    }
  };
  walk(join(ROOT, 'extension'));
  return keys;
}

describe('Translations', () => {
  it('ship English (the default) and at least one more language', () => {
    assert.ok(LOCALES.includes('en'));
    assert.ok(LOCALES.length >= 2, LOCALES.join());
  });

  for (const lang of LOCALES) {
    describe(`_locales/${lang}`, () => {
      const m = messages(lang);
      it('has a message and a next step for every error code', () => {
        for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
          const view = describeError({ code });
          assert.ok(m[view.messageKey]?.message, `${lang}: ${view.messageKey}`);
          assert.ok(m[view.nextKey]?.message, `${lang}: ${view.nextKey}`);
        }
      });
      it('has a message for every password-policy reason', () => {
        for (const reason of POLICY_REASONS) assert.ok(m[`reason_${reason}`]?.message, `${lang}: reason_${reason}`);
      });
      it('has every key the extension uses', () => {
        for (const key of usedKeys()) assert.ok(m[key]?.message, `${lang}: ${key}`);
        // Keys built at run time: one per action, gate method and password rule.
        const rules: RuleId[] = ['length', 'categories', 'no_user_name', 'max_bytes'];
        const dynamic = [
          ...ACTIONS.map((a) => `action_${a}`),
          ...GATE_METHODS.map((g) => `gate_${g}`),
          ...rules.map((r) => `rule_${r}`),
          'rule_history',
          'rule_min_age',
        ];
        for (const key of dynamic) assert.ok(m[key]?.message, `${lang}: ${key}`);
      });
      it('has the same keys and the same $n substitutions as English', () => {
        const en = messages('en');
        assert.deepEqual(Object.keys(m).sort(), Object.keys(en).sort());
        for (const [key, { message }] of Object.entries(en)) {
          const subs = (s: string) => (s.match(/\$\d/g) ?? []).sort().join();
          assert.equal(subs(m[key]?.message ?? ''), subs(message), `${lang}: ${key}`);
        }
      });
    });
  }
});
