#!/usr/bin/env node
// Thin launcher: the code lives in dist/, built by `npm run build` (npm ci runs it via prepare).
import('../dist/unlatch-agent.mjs').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('unlatch-agent.mjs')) {
    console.error('unlatch-agent is not built yet: run `npm run build` in the Unlatch folder.');
    process.exit(1);
  }
  throw err;
});
