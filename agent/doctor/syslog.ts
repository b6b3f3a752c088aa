/**
 * Does the syslog server (`log.syslog`) take the agent's events? Over TCP: a connection is
 * opened and closed (nothing is sent, so the SIEM sees no test noise). Over UDP nothing can
 * confirm delivery, so the host name is resolved and the limits of UDP are said.
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import type { SyslogTarget } from '../log.ts';
import { classifyNetError, explainNet, fail, pass, skip, warn, type CheckResult } from './check.ts';

const ID = 'syslog';
const TITLE = 'syslog';

export async function syslogCheck(target: SyslogTarget | undefined, timeoutMs: number): Promise<CheckResult> {
  if (!target) return skip(ID, TITLE, 'not configured (log.syslog): events go to stderr / the journal only', true);
  const where = `${target.host}:${target.port}`;
  if (target.protocol === 'udp') {
    try {
      await lookup(target.host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return fail(ID, TITLE, `${target.host} does not resolve (${e.code ?? e.message})`, 'check log.syslog.host');
    }
    return warn(ID, TITLE, `UDP to ${where}: the name resolves, but UDP cannot confirm that messages arrive`, 'check that events reach the server, or use log.syslog.protocol: tcp');
  }
  return new Promise<CheckResult>((resolve) => {
    const socket = connect({ host: target.host, port: target.port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.end();
      resolve(pass(ID, TITLE, `TCP ${where} accepts connections (facility ${target.facility})`));
    });
    const failed = (code: string | undefined, message: string) => {
      socket.destroy();
      const { detail, fix } = explainNet(classifyNetError(code, message), 'the syslog server', target.host, target.port, message);
      resolve(fail(ID, TITLE, detail, fix));
    };
    socket.once('timeout', () => failed('ETIMEDOUT', `no answer within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => failed(err.code, err.message));
  });
}
