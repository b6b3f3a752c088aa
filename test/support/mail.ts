/**
 * A real SMTP server on loopback (smtp-server, STARTTLS with the test CA) that keeps what it
 * receives, parsed with mailparser, so tests read one-time codes the way a person would.
 */
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { testPki } from './pki.ts';

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  /** The raw message as it crossed the wire. */
  raw: string;
}

export interface MailCatcher {
  host: string;
  port: number;
  caFile: string;
  messages: ReceivedMail[];
  /** Resolves with the first message to `address` received after `since` (index) that `matches`. */
  waitFor(address: string, options?: { since?: number; timeoutMs?: number; matches?: (mail: ReceivedMail) => boolean }): Promise<ReceivedMail>;
  /** The newest one-time code sent to `address` (waits for a message after `since`). */
  codeFor(address: string, options?: { since?: number; timeoutMs?: number }): Promise<string>;
  /** Calls `listener` for every message received from now on. */
  onMessage(listener: (mail: ReceivedMail) => void): void;
  close(): Promise<void>;
}

const CODE = /\b(\d{8,12})\b/;

export async function startMailCatcher(): Promise<MailCatcher> {
  const pki = testPki();
  const messages: ReceivedMail[] = [];
  const listeners = new Set<() => void>();
  const server = new SMTPServer({
    secure: false,
    key: pki.keyPem,
    cert: pki.certPem,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            messages.push({
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              raw,
            });
            listeners.forEach((l) => l());
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;

  const waitFor: MailCatcher['waitFor'] = (address, options = {}) => {
    const since = options.since ?? 0;
    const want = address.toLowerCase();
    const find = () => messages.slice(since).find((m) => m.to.includes(want) && (options.matches?.(m) ?? true));
    return new Promise((resolve, reject) => {
      const hit = find();
      if (hit) return resolve(hit);
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no mail to ${address} within ${options.timeoutMs ?? 10_000} ms`));
      }, options.timeoutMs ?? 10_000);
      const check = () => {
        const m = find();
        if (!m) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(m);
      };
      listeners.add(check);
    });
  };

  return {
    host: '127.0.0.1',
    port,
    caFile: pki.files.ca,
    messages,
    waitFor,
    async codeFor(address, options = {}) {
      // Notices (e.g. "your registration changed") may reach the same address in between.
      const mail = await waitFor(address, { ...options, matches: (m) => CODE.test(m.text) });
      const code = CODE.exec(mail.text)?.[1];
      if (!code) throw new Error(`mail to ${address} holds no code`);
      return code;
    },
    onMessage(listener) {
      listeners.add(() => listener(messages[messages.length - 1] as ReceivedMail));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
