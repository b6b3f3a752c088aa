/**
 * The relay's logger: pino, JSON lines, one child per module (`ns: "relay:server"` …).
 *
 * What may be logged: tenant ids, agent ids, the first characters of a session id, addresses,
 * sizes, close codes and error codes. Never a frame's `data`, `wk`, a bundle, a PoW challenge or
 * any secret: nothing here takes a frame object, only the fields named above.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ name: 'unlatch-relay', level, base: { pid: process.pid } });
}

/** A child logger for one module of the relay. */
export function moduleLogger(root: Logger, module: string): Logger {
  return root.child({ ns: `relay:${module}` });
}

/** Enough of a session id to follow one session through the log, too little to use it. */
export function sidPrefix(sid: string | undefined): string | undefined {
  return sid === undefined ? undefined : sid.slice(0, 6);
}
