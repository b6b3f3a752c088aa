/**
 * `unlatch-relay [--config FILE] [--port N]`: runs the relay until SIGTERM or SIGINT.
 *
 * The config file comes from --config, else $UNLATCH_RELAY_CONFIG, else
 * /etc/unlatch/relay.yaml. Bad configuration is printed with the path of each bad value and the
 * fix, and the process exits 2. Secrets never come from argv: the config holds only hashes and
 * file paths.
 */
import { existsSync } from 'node:fs';
import { ConfigError, loadConfigFile } from './config.ts';
import { startRelay, type Relay } from './index.ts';
import { createLogger } from './log.ts';

const USAGE = `usage: unlatch-relay [--config FILE] [--port N]

  --config FILE   relay configuration (YAML); default $UNLATCH_RELAY_CONFIG or /etc/unlatch/relay.yaml
  --port N        listen on port N instead of listen.port
  --help          show this help

See docs/configuration.md ("Relay") for the file format.`;

const DEFAULT_CONFIG = '/etc/unlatch/relay.yaml';
/** How long a graceful stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

interface Args {
  config?: string;
  port?: number;
  help: boolean;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--config':
      case '-c':
        args.config = value();
        break;
      case '--port':
      case '-p': {
        const v = value();
        const port = Number(v);
        if (!/^\d+$/.test(v) || port > 65_535) throw new UsageError(`--port must be an integer 0..65535, not "${v}"`);
        args.port = port;
        break;
      }
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  return args;
}

/** Runs the CLI; resolves with the exit code once the relay has stopped (or failed to start). */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`unlatch-relay: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = args.config ?? env['UNLATCH_RELAY_CONFIG'] ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  if (!file) {
    process.stderr.write(`unlatch-relay: no configuration; pass --config FILE or set UNLATCH_RELAY_CONFIG\n\n${USAGE}\n`);
    return 2;
  }

  let relay: Relay;
  try {
    const config = await loadConfigFile(file);
    if (args.port !== undefined) config.listen.port = args.port;
    if (config.tenants.length === 0) process.stderr.write(`unlatch-relay: warning: ${file} defines no tenants; every agent and client will be refused\n`);
    relay = await startRelay({ ...config, logger: createLogger(config.log.level) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`unlatch-relay: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`unlatch-relay: cannot start: ${e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message}\n`);
    return 1;
  }
  const { host } = relay.config.listen;
  process.stdout.write(
    `unlatch-relay listening on ${relay.url.startsWith('wss') ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${relay.port}` +
      ` (${relay.config.tenants.length} tenant${relay.config.tenants.length === 1 ? '' : 's'}; health: ${relay.url.replace(/^ws/, 'http')}/healthz)\n`,
  );

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.stdout.write(`unlatch-relay: ${signal}, closing connections\n`);
      const force = setTimeout(() => resolve(1), STOP_TIMEOUT_MS);
      force.unref();
      relay.close().then(
        () => {
          clearTimeout(force);
          resolve(0);
        },
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

// This module is the program (bundled to dist/unlatch-relay.mjs, which bin/unlatch-relay.js
// imports), so it runs on load; nothing imports it.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`unlatch-relay: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
