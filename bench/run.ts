/**
 * `npm run bench`: prints each figure as it goes and, as the last line, one JSON object with
 * every ratio and budget. Ratios compare against a baseline measured in the same run, so a
 * noisy shared machine moves both sides alike.
 */
import { existsSync } from 'node:fs';
import { startTestDirectory } from '../test/support/directory.ts';
import { benchIdleConnections, benchThroughput } from './relay.ts';
import { benchReset } from './reset.ts';

const log = (s: string) => process.stdout.write(`${s}\n`);
const result: Record<string, number> = {};

const throughput = await benchThroughput(log);
result['relay_throughput_ratio'] = round(throughput.ratio, 3);
result['relay_msgs_per_s'] = Math.round(throughput.relay);
result['direct_ws_msgs_per_s'] = Math.round(throughput.direct);

result['idle_connection_kib'] = round(await benchIdleConnections(log), 2);

const directory = await startTestDirectory({ log: () => undefined });
try {
  const reset = await benchReset(directory, log);
  result['reset_latency_ratio'] = round(reset.ratio, 3);
  result['reset_p99_ms'] = round(reset.p99Ms, 1);
  result['reset_median_ms'] = round(reset.fullMedianMs, 1);
  result['bare_ldap_replace_median_ms'] = round(reset.bareMedianMs, 1);
} finally {
  await directory.stop();
}

if (existsSync(new URL('./extension.ts', import.meta.url))) {
  const { measureExtension } = (await import(new URL('./extension.ts', import.meta.url).href)) as {
    measureExtension: (log: (s: string) => void) => Promise<Record<string, number>>;
  };
  Object.assign(result, await measureExtension(log));
}

log(JSON.stringify(result));
process.exit(0);

function round(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}
