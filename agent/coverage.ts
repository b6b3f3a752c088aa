/**
 * Registration coverage as `unlatch-agent report` shows it: reads the people in scope from the
 * directory and their registrations from the agent's store — read-only, beside a running agent —
 * and measures them with the agent's own gates (agent/gates/coverage.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { AgentConfig } from './config.ts';
import { DirectoryError } from './directory/index.ts';
import { OneTimeCodes } from './gates/codes.ts';
import { measureCoverage, type Coverage } from './gates/coverage.ts';
import { Gates } from './gates/index.ts';
import { Throttle } from './gates/throttle.ts';
import { openSqliteStore, StoreKeys, type AgentStore } from './store/index.ts';
import { directoryFromConfig, gateSettingsFromConfig, throttleSettingsFromConfig } from './wiring.ts';

export class CoverageUnavailable extends Error {
  override readonly name = 'CoverageUnavailable';
}

/** The store as the agent keeps it, opened for reading; an empty one when the agent has none yet. */
function openStoreForReading(config: AgentConfig): { store: AgentStore; keys: StoreKeys } {
  const file = config.store.file as string;
  if (!existsSync(file)) {
    // Nobody registered anything yet; a fresh in-memory store answers exactly that.
    return { store: openSqliteStore(':memory:'), keys: new StoreKeys(randomBytes(32)) };
  }
  // Opening SQLite leaves its -wal/-shm files owned by whoever opened it: as another user (root)
  // that would lock the agent out of its own database. Reports run as the agent's user.
  const owner = statSync(file).uid;
  if (typeof process.getuid === 'function' && process.getuid() !== owner) {
    throw new CoverageUnavailable(
      `registration coverage needs the agent's store, owned by uid ${owner}: run the report as the agent's user (e.g. sudo -u unlatch unlatch-agent report), or pass --no-coverage`,
    );
  }
  const keyFile = config.store.keyFile as string;
  if (!existsSync(keyFile)) throw new CoverageUnavailable(`the store key ${keyFile} is missing; registrations cannot be read without it`);
  return { store: openSqliteStore(file, { readonly: true }), keys: StoreKeys.load(keyFile) };
}

export async function coverageFromConfig(config: AgentConfig, now: () => number = Date.now): Promise<Coverage> {
  const { store, keys } = openStoreForReading(config);
  const directory = directoryFromConfig(config);
  try {
    const gates = new Gates({
      store,
      keys,
      // A report sends nothing and counts nothing; these exist because Gates is built for sessions.
      codes: new OneTimeCodes(store, keys.key('codes'), now),
      throttle: new Throttle(
        store,
        throttleSettingsFromConfig(config),
        now,
      ),
      delivery: {
        email: () => Promise.reject(new Error('a report sends no codes')),
        phone: () => Promise.reject(new Error('a report sends no codes')),
      },
      emit: () => undefined,
      settings: gateSettingsFromConfig(config),
      now,
    });
    let users;
    try {
      users = await directory.usersInScope();
    } catch (err) {
      // The admin needs the DC-side detail here, not the sentence meant for a person at a sign-in page.
      if (err instanceof DirectoryError) throw new CoverageUnavailable(`could not read the users in scope: ${err.detail} (${err.code})`);
      throw err;
    }
    return await measureCoverage(users, gates, store, new Date(now()));
  } finally {
    await directory.close();
    await store.close();
  }
}
