/**
 * Runs `unlatch-agent` as a real process: from source (tsx, no build needed) for most tests, or
 * as installed (the built bin/unlatch-agent.js) where the test is about what an admin runs.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function agentFromSource(args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', 'agent/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
}

/** `input` is stdin (a closed, empty stdin by default: not a terminal). */
export function agentBinary(args: readonly string[], input = ''): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['bin/unlatch-agent.js', ...args], { cwd: ROOT, encoding: 'utf8', input });
}
