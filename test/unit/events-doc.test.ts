import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EVENTS } from '../../agent/events.ts';

describe('docs/events.md', () => {
  it('lists every event with its number, and only those', () => {
    const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d{5}) \| (\w+) \|/gm)].map((m) => [m[2], Number(m[1])]);
    assert.deepEqual(Object.fromEntries(rows), EVENTS);
  });
});
