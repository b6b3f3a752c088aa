/**
 * protocol/ runs unchanged in the browser extension, so it may import nothing but its own files:
 * no Node built-ins, no npm packages, and no Node globals (Buffer, process, require, …).
 *
 * Two independent checks: a plain scan of every import/export/require statement in the source,
 * and an esbuild browser bundle of every file (which also catches dynamic imports and free
 * references to Node globals, without being fooled by comments or strings).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const PROTOCOL = fileURLToPath(new URL('../../protocol/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

/** Every module specifier in a source file: static, re-export, side-effect, dynamic, require. */
function specifiers(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  return patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1] as string));
}

const NODE_GLOBALS = ['Buffer', 'process', 'require', 'module', 'exports', '__dirname', '__filename', 'global', 'setImmediate', 'clearImmediate'];

/**
 * Bundles with esbuild for the browser (write: false: nothing lands on disk). Node built-ins do
 * not resolve there, so importing one fails the build; Node globals are swapped for markers by
 * `define`, which touches only real free references, never strings, comments or property names.
 */
async function browserBundle(options: Pick<BuildOptions, 'entryPoints' | 'stdin'>): Promise<{ inputs: string[]; globals: string[] }> {
  const define: Record<string, string> = {};
  for (const g of NODE_GLOBALS) {
    define[g] = `__NODE_GLOBAL_${g}__`;
    define[`globalThis.${g}`] = `__NODE_GLOBAL_${g}__`;
  }
  const root = resolve(PROTOCOL, '..');
  const result = await build({
    ...options,
    absWorkingDir: root,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outdir: join(root, '.browser-check-never-written'),
    metafile: true,
    logLevel: 'silent',
    define,
  });
  const globals = new Set<string>();
  for (const out of result.outputFiles) for (const m of out.text.matchAll(/__NODE_GLOBAL_(\w+?)__/g)) globals.add(m[1] as string);
  return { inputs: Object.keys(result.metafile.inputs).map((p) => resolve(root, p)), globals: [...globals] };
}

describe('protocol/ is browser-safe', function () {
  const files = sourceFiles(PROTOCOL);

  it('has source files to check', function () {
    assert.ok(files.length >= 10, `found only ${files.length} files in ${PROTOCOL}`);
    for (const name of ['bytes.ts', 'crypto.ts', 'bundle.ts', 'channel.ts', 'password.ts', 'messages.ts']) {
      assert.ok(files.includes(join(PROTOCOL, name)), `protocol/${name} is missing`);
    }
  });

  it('imports only its own files, by relative path with a .ts extension', function () {
    const problems: string[] = [];
    let count = 0;
    for (const file of files) {
      const name = relative(PROTOCOL, file);
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        count++;
        const bare = spec.replace(/^node:/, '');
        if (spec.startsWith('node:') || builtinModules.includes(bare) || builtinModules.includes(bare.split('/')[0] as string)) {
          problems.push(`${name}: imports the Node built-in "${spec}"`);
        } else if (!spec.startsWith('./') && !spec.startsWith('../')) {
          problems.push(`${name}: imports the package "${spec}"`);
        } else {
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(PROTOCOL) && `${target}${sep}` !== PROTOCOL) problems.push(`${name}: imports "${spec}" from outside protocol/`);
          else if (!spec.endsWith('.ts')) problems.push(`${name}: imports "${spec}" without its .ts extension`);
          else if (!existsSync(target)) problems.push(`${name}: imports "${spec}", which does not exist`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(count >= 10, `only ${count} import statements found: is the scanner still working?`);
  });

  it('the scanner itself catches what it must', function () {
    const sample = [
      "import { readFileSync } from 'node:fs';",
      'import {\n  createHash,\n} from "crypto";',
      "export { z } from 'zod';",
      "import 'ws';",
      "const m = await import('node:path');",
      "const x = require('os');",
      "import type { Foo } from './foo.ts';",
    ].join('\n');
    assert.deepEqual(specifiers(sample).sort(), ['./foo.ts', 'crypto', 'node:fs', 'node:path', 'os', 'ws', 'zod'].sort());
  });

  it('bundles for the browser from its own files alone, with no Node globals', async function () {
    this.timeout(30_000);
    const { inputs, globals } = await browserBundle({ entryPoints: files });
    assert.ok(inputs.length >= files.length);
    assert.deepEqual(inputs.filter((p) => !p.startsWith(PROTOCOL)), [], 'the bundle pulled in files from outside protocol/');
    assert.deepEqual(globals, [], 'protocol/ refers to Node globals');
  });

  it('the bundle check itself catches Node globals but not mere words', async function () {
    this.timeout(30_000);
    const contents = [
      "export const a = Buffer.from('x');",
      'export const b = globalThis.process?.env;',
      "export const c = 'a process, a Buffer and require() in a string';",
      '// process.exit() in a comment',
      'export const d = { process: 1 }.process;',
    ].join('\n');
    const { globals } = await browserBundle({ stdin: { contents, resolveDir: PROTOCOL, loader: 'ts', sourcefile: 'sample.ts' } });
    assert.deepEqual(globals.sort(), ['Buffer', 'process']);
  });
});
