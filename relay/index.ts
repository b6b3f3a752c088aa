/**
 * The relay as a library: `startRelay(options)` runs one in-process (the CLI, the demo and the
 * tests all use it).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, parseConfig, readConfigFiles, type RelayConfig, type RelayConfigInput } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { RelayServer, type FrameHook, type RelayStats } from './server.ts';

export { ConfigError, DEFAULTS, loadConfigFile, parseConfig, type RelayConfig, type RelayConfigInput } from './config.ts';
export { CLOSE_CODES, type FrameDirection, type FrameHook, type RelayStats } from './server.ts';
export { hashTenantSecret } from './tenants.ts';
export { MAX_FRAME_BYTES } from './limits.ts';

export interface RelayOptions extends RelayConfigInput {
  /** Called with the text of every frame received or sent (tests). Default: none. */
  onFrame?: FrameHook;
  /** Logger to use. Default: a new pino logger at `log.level`. */
  logger?: Logger;
  /** PoW HMAC key (≥ 32 bytes). Default: the contents of `powKeyFile`, else 32 random bytes. */
  powKey?: Uint8Array;
}

export interface Relay {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** ws:// or wss:// base URL, e.g. ws://127.0.0.1:41234 */
  readonly url: string;
  readonly config: RelayConfig;
  /** Closes every connection (1001) and stops listening. */
  close(): Promise<void>;
  stats(): RelayStats;
}

/**
 * Validates `options` (throws ConfigError naming each bad value), reads the TLS and PoW key
 * files, and listens. Unlike the config file, `listen` defaults to 127.0.0.1 on a free port
 * (port 0), which is what embedded use and tests want.
 */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const { onFrame, logger, powKey, ...input } = options;
  const config = parseConfig({ ...input, listen: { host: '127.0.0.1', port: 0, ...input.listen } });
  const files = await readConfigFiles(config);
  const key = powKey ?? files.powKey ?? randomBytes(32);
  let server: RelayServer;
  try {
    server = new RelayServer({
      config,
      files,
      logger: logger ?? createLogger(config.log.level),
      powKey: key,
      ...(onFrame ? { onFrame } : {}),
    });
  } catch (err) {
    // The only thing that can fail here is TLS material that reads but does not parse.
    if (!files.tls) throw err;
    throw new ConfigError([`tls: the certificate or key cannot be used: ${(err as Error).message} (fix: PEM files of a matching certificate and private key)`]);
  }
  const port = await server.listen();
  const host = config.listen.host;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `${files.tls ? 'wss' : 'ws'}://${urlHost}:${port}`,
    config,
    close: () => server.close(),
    stats: () => server.stats(),
  };
}
