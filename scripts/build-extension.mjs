// Builds the browser extension into dist/extension/ (load it unpacked from there, or zip it).
//
//   content.js      the content script: IIFE, no framework, no polyfill (budget 5 KiB gzip)
//   background.js   the service worker (Chromium) / event page (Firefox): IIFE
//   reset.js, register.js, options.js + chunks/   the pages: ESM with code splitting, so what the reset page
//                   needs for its first paint stays small and the strength meter (zxcvbn),
//                   the WebCrypto fallback (webcrypto-liner) and the QR encoder (uqr) are chunks
//                   loaded only on demand
//
// Also copies manifest.json, managed_schema.json, _locales/, the pages' HTML and CSS and the
// icons, and writes dist/extension-meta.json (outside the package) naming the files each page
// loads before first paint, for bench/extension.ts.
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/extension');

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  // The manifest's minimum versions: both run MV3 with background.scripts + service_worker.
  target: ['chrome121', 'firefox140'],
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
  outdir: out,
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const [, , pages] = await Promise.all([
  build({ ...common, entryPoints: { content: 'extension/content/main.ts' }, format: 'iife' }),
  build({ ...common, entryPoints: { background: 'extension/background/main.ts' }, format: 'iife' }),
  build({
    ...common,
    entryPoints: {
      reset: 'extension/ui/reset/main.tsx',
      register: 'extension/ui/register/main.tsx',
      options: 'extension/ui/options/main.tsx',
    },
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // The package's "browser" build is a global shim that replaces window.crypto; we want the
    // module that hands us a SubtleCrypto to install through protocol/crypto.ts instead.
    alias: { 'webcrypto-liner': './node_modules/webcrypto-liner/build/index.es.js' },
    // asmcrypto.js reaches for Node's crypto only when `process` exists, never in a browser.
    external: ['crypto'],
    metafile: true,
  }),
]);

await Promise.all([
  cp(join(root, 'manifest.json'), join(out, 'manifest.json')),
  cp(join(root, 'managed_schema.json'), join(out, 'managed_schema.json')),
  cp(join(root, '_locales'), join(out, '_locales'), { recursive: true }),
  cp(join(root, 'extension/icons'), join(out, 'icons'), { recursive: true }),
  cp(join(root, 'extension/ui/reset.html'), join(out, 'reset.html')),
  cp(join(root, 'extension/ui/register.html'), join(out, 'register.html')),
  cp(join(root, 'extension/ui/options.html'), join(out, 'options.html')),
  cp(join(root, 'extension/ui/ui.css'), join(out, 'ui.css')),
]);

/** An entry's file plus every chunk it imports statically, transitively (not dynamic imports). */
function firstPaint(metafile, entryFile) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of metafile.outputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
    }
  };
  visit(entryFile);
  return [...seen].map((f) => relative(out, join(root, f)));
}

const outputs = Object.keys(pages.metafile.outputs).map((f) => relative(root, join(root, f)));
const entry = (name) => outputs.find((f) => f.endsWith(`/${name}.js`));
const meta = {
  contentScript: 'content.js',
  background: 'background.js',
  firstPaint: {
    reset: firstPaint(pages.metafile, entry('reset')),
    register: firstPaint(pages.metafile, entry('register')),
    options: firstPaint(pages.metafile, entry('options')),
  },
  lazy: outputs.filter((f) => f.endsWith('.js')).map((f) => relative(out, join(root, f))),
};
meta.lazy = meta.lazy.filter((f) => !Object.values(meta.firstPaint).some((files) => files.includes(f)));
await writeFile(join(root, 'dist/extension-meta.json'), `${JSON.stringify(meta, null, 2)}\n`);

// Fail the build on a manifest that points at a file the build did not produce.
const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
const referenced = [
  manifest.background.service_worker,
  ...manifest.background.scripts,
  ...manifest.content_scripts.flatMap((c) => c.js),
  manifest.options_ui.page,
  ...Object.values(manifest.icons),
];
for (const file of referenced) {
  await readFile(join(out, file)).catch(() => {
    throw new Error(`manifest.json references ${file}, which the build did not produce`);
  });
}
