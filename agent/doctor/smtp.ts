/**
 * Is the mail server reachable with the configured TLS settings (and credentials)? nodemailer's
 * `verify()`: connect, EHLO, STARTTLS (or TLS from the first byte), AUTH — no message is sent.
 * The transport is built with the same settings as the agent's mailer (agent/notify/mailer.ts).
 */
import nodemailer from 'nodemailer';
import type { AgentConfig } from '../config.ts';
import { classifyNetError, explainNet, fail, pass, warn, type CheckResult } from './check.ts';

const ID = 'smtp';
const TITLE = 'SMTP';

export async function smtpCheck(smtp: AgentConfig['smtp'], password: string | undefined, caPem: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ignoreTLS: !smtp.secure && !smtp.requireTLS,
    tls: caPem ? { ca: caPem } : {},
    ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
  });
  const where = `${smtp.host}:${smtp.port}`;
  try {
    await transport.verify();
    const tls = smtp.secure ? 'TLS' : smtp.requireTLS ? 'STARTTLS' : undefined;
    const detail = `${where} accepted the connection${tls ? ` with ${tls} (certificate trusted)` : ''}${smtp.user ? ` and the login of ${smtp.user}` : ''}`;
    if (!tls) return warn(ID, TITLE, `${detail}, without encryption: codes and notices cross the network in clear`, 'set smtp.requireTLS: true (STARTTLS) or smtp.secure: true (port 465)');
    return pass(ID, TITLE, detail);
  } catch (err) {
    const e = err as Error & { code?: string; responseCode?: number; response?: string };
    if (e.code === 'EAUTH') {
      return fail(ID, TITLE, `${where} refused the login of ${smtp.user ?? '(no user)'} (${e.response ?? e.message})`, 'check smtp.user and the smtp.password file');
    }
    if (/STARTTLS/i.test(e.message) && e.code !== 'ESOCKET') {
      return fail(ID, TITLE, `${where} does not offer STARTTLS, and smtp.requireTLS is on (${e.message})`, 'enable STARTTLS on the mail server, or use its TLS port with smtp.secure: true');
    }
    if (e.responseCode) {
      return fail(ID, TITLE, `${where} answered ${e.responseCode}: ${e.response ?? e.message}`, 'check smtp.host and smtp.port, and that this host may relay mail through it');
    }
    const problem = classifyNetError(e.code, e.message);
    const x = explainNet(problem, 'the mail server', smtp.host, smtp.port, e.message);
    const fix =
      problem === 'untrusted'
        ? smtp.caFile
          ? `smtp.caFile (${smtp.caFile}) does not hold the CA of the mail server's certificate: put that CA (PEM) in it`
          : "set smtp.caFile to the CA (PEM) that issued the mail server's certificate"
        : problem === 'name_mismatch'
          ? 'set smtp.host to a name on the mail server\'s certificate'
          : problem === 'not_tls' && smtp.secure
            ? 'this port does not speak TLS from the first byte: use smtp.secure: false with STARTTLS (port 587), or port 465'
            : `${x.fix} (smtp.host, smtp.port)`;
    return fail(ID, TITLE, x.detail, fix);
  } finally {
    transport.close();
  }
}
