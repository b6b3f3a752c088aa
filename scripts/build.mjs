// Builds everything that runs outside `tsx`: the three command-line tools (Node bundles) and,
// when present, the browser extension (scripts/build-extension.mjs).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const node = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
};

await Promise.all([
  build({ ...node, entryPoints: ['relay/cli.ts'], outfile: 'dist/unlatch-relay.mjs' }),
  build({ ...node, entryPoints: ['agent/cli.ts'], outfile: 'dist/unlatch-agent.mjs' }),
  build({ ...node, entryPoints: ['client/cli.ts'], outfile: 'dist/unlatch-client.mjs' }),
]);

if (existsSync('scripts/build-extension.mjs')) await import('./build-extension.mjs');
