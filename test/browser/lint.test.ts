/**
 * The built extension passes Mozilla's linter (`web-ext lint`, what addons.mozilla.org runs)
 * with no errors, so the one build also loads in Firefox.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EXTENSION_DIR, ROOT } from './support/browser.ts';

const run = promisify(execFile);

describe('web-ext lint', function () {
  this.timeout(120_000);

  it('finds no errors in dist/extension', async () => {
    const bin = join(ROOT, 'node_modules/.bin/web-ext');
    const { stdout } = await run(bin, ['lint', '--source-dir', EXTENSION_DIR, '--output', 'json', '--no-config-discovery'], {
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const report = JSON.parse(stdout) as { summary: { errors: number }; errors: { code: string; message: string; file?: string }[] };
    assert.deepEqual(
      report.errors.map((e) => `${e.code}: ${e.message} (${e.file ?? ''})`),
      [],
    );
    assert.equal(report.summary.errors, 0);
  });
});
