/**
 * Mocha root hooks (loaded through `require` in .mocharc.json).
 *
 * Suites that need a real Active Directory call `sharedDirectory()`: the first call starts ONE
 * Samba AD DC for the whole mocha run (see ./directory.ts), later calls get the same one, and
 * the root afterAll stops it. Nothing is started unless a suite asks, so unit tests never pay
 * for Samba.
 *
 *   import { sharedDirectory } from '../support/hooks.ts';
 *   before(async function () { this.timeout(120_000); dir = await sharedDirectory(); });
 *
 * Set UNLATCH_TEST_DC_LOG=1 to see start-up timings (and =2 for Samba's own output).
 */
import type { TestDirectory } from './directory.ts';

let shared: Promise<TestDirectory> | undefined;

/** The run-wide test directory, started on first use. */
export function sharedDirectory(): Promise<TestDirectory> {
  shared ??= (async () => {
    const { startTestDirectory } = await import('./directory.ts');
    const level = process.env.UNLATCH_TEST_DC_LOG ?? '';
    return startTestDirectory({
      log: level ? (s) => console.error(`      ${s}`) : undefined,
      logSamba: level === '2',
    });
  })();
  // A failed start is not cached: the next suite gets a fresh attempt and its own error.
  shared.catch(() => (shared = undefined));
  return shared;
}

export const mochaHooks = {
  beforeAll(): void {
    // Nothing to do eagerly: the directory starts lazily in sharedDirectory().
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    const started = shared;
    shared = undefined;
    if (started) await (await started.catch(() => undefined))?.stop();
  },
};
