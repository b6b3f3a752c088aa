/**
 * Outgoing mail through nodemailer over SMTP: one-time codes (only to addresses on file, or to
 * an address being registered) and notices (./notices.ts). Nothing secret is logged:
 * nodemailer's own logger would print message bodies, which hold codes.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AgentConfig } from '../config.ts';

export interface Mailer {
  sendCode(to: string, code: string, ttlMinutes: number): Promise<void>;
  /** One message to each address (so no person sees another's address). */
  sendNotice(to: string[], message: { subject: string; text: string }): Promise<void>;
  close(): void;
}

export function createMailer(smtp: AgentConfig['smtp'], password: string | undefined): Mailer {
  const transport: Transporter = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ignoreTLS: !smtp.secure && !smtp.requireTLS,
    tls: smtp.caFile ? { ca: readFileSync(smtp.caFile, 'utf8') } : {},
    ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    logger: false,
    debug: false,
  });
  return {
    async sendCode(to, code, ttlMinutes) {
      await transport.sendMail({
        from: smtp.from,
        to,
        subject: 'Your verification code',
        text:
          `Your verification code is ${code}\n\n` +
          `It is valid for ${ttlMinutes} minutes and can be used once.\n` +
          'If you did not ask to reset your password, unlock your account or register this address, tell your help desk.\n',
      });
    },
    async sendNotice(to, message) {
      for (const address of to) await transport.sendMail({ from: smtp.from, to: address, subject: message.subject, text: message.text });
    },
    close() {
      transport.close();
    },
  };
}
