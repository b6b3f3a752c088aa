/**
 * The agent's logger: pino JSON lines on stderr. Secrets are never passed to it; as a second
 * line of defence, fields that could carry one are redacted by name.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACTED_FIELDS = ['password', 'newPassword', 'oldPassword', 'currentPassword', 'code', 'answer', 'answers', 'secret', 'wk', 'data'];

export function createLogger(level: string = 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      name: 'unlatch-agent',
      level,
      base: { pid: process.pid },
      redact: { paths: [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`)], censor: '[redacted]' },
    },
    destination,
  );
}
