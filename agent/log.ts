/**
 * The agent's logger: pino JSON lines on stderr (under systemd that is the journal), and, when
 * `log.syslog` is configured, the same lines as RFC 5424 syslog messages to a syslog server
 * (pino-syslog formats, pino-socket sends; both run in pino's transport worker, off the hot path).
 * Secrets are never passed to it; as a second line of defence, fields that could carry one are
 * redacted by name, before any line leaves the process.
 */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACTED_FIELDS = ['password', 'newPassword', 'oldPassword', 'currentPassword', 'code', 'answer', 'answers', 'secret', 'wk', 'data'];

export interface SyslogTarget {
  host: string;
  port: number;
  protocol: 'udp' | 'tcp';
  /** Syslog facility number: 16 = local0 … 23 = local7, 4 = auth, 10 = authpriv. */
  facility: number;
}

export function createLogger(level: string = 'info', destination: pino.DestinationStream = pino.destination(2), syslog?: SyslogTarget): Logger {
  const options: pino.LoggerOptions = {
    name: 'unlatch-agent',
    level,
    base: { pid: process.pid },
    redact: { paths: [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`)], censor: '[redacted]' },
  };
  if (!syslog) return pino(options, destination);
  // The syslog header names the host; pino-syslog takes it from each line.
  options.base = { pid: process.pid, hostname: hostname() };
  const toSyslog = pino.transport({
    pipeline: [
      { target: 'pino-syslog', options: { enablePipelining: true, modern: true, appname: 'unlatch-agent', facility: syslog.facility, newline: syslog.protocol === 'tcp' } },
      { target: 'pino-socket', options: { address: syslog.host, port: syslog.port, mode: syslog.protocol, reconnect: syslog.protocol === 'tcp' } },
    ],
  }) as pino.DestinationStream;
  return pino(options, pino.multistream([{ stream: destination, level: level as pino.Level }, { stream: toSyslog, level: level as pino.Level }]));
}
