/**
 * Steps for the verification methods and the registration, driven through the real client
 * protocol (client → relay → agent), reading codes where a person would: the SMTP server, the
 * SMS gateway, their authenticator app (computed here from the otpauth:// URI, with the agent's
 * clock).
 */
import { Secret, TOTP } from 'otpauth';
import type { ClientSession } from '../../protocol/client.ts';
import type { AgentMessage, GateView, RegistrationView } from '../../protocol/messages.ts';
import { expectOp } from './flows.ts';
import type { Stack } from './stack.ts';

/** The Base32 secret and the current code of an otpauth:// URI, at `now` (ms). */
export function totpCode(uri: string, now: number = Date.now()): string {
  const secret = new URL(uri).searchParams.get('secret');
  if (!secret) throw new Error(`no secret in ${uri}`);
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: now });
}

export function totpSecretOf(uri: string): string {
  return new URL(uri).searchParams.get('secret') as string;
}

/** Opens a registration with the current password. Answers the raw agent message. */
export async function registerStart(session: ClientSession, user: string, password: string, locale?: string): Promise<AgentMessage> {
  return session.request({ op: 'register.start', user, currentPassword: await session.sealPassword('oldPassword', password), ...(locale ? { locale } : {}) });
}

/** Registers a phone number (verified with the SMS or call code the gateway received). */
export async function registerPhone(stack: Stack, session: ClientSession, phone: string, e164: string, channel: 'sms' | 'voice' = 'sms'): Promise<RegistrationView> {
  const since = stack.sms.texts.length;
  const pending = expectOp(await session.request({ op: 'register.add', method: channel, phone }), 'register.pending');
  const code = await stack.sms.codeFor(e164, { since });
  return expectOp(await session.request({ op: 'register.verify', id: pending.id, code }), 'registration');
}

export async function registerEmail(stack: Stack, session: ClientSession, address: string): Promise<RegistrationView> {
  const since = stack.mail.messages.length;
  const pending = expectOp(await session.request({ op: 'register.add', method: 'email', address }), 'register.pending');
  const code = await stack.mail.codeFor(address, { since });
  return expectOp(await session.request({ op: 'register.verify', id: pending.id, code }), 'registration');
}

/** Registers an authenticator app; returns the otpauth:// URI (the app's secret). */
export async function registerTotp(session: ClientSession, now: () => number = Date.now): Promise<{ uri: string; view: RegistrationView }> {
  const pending = expectOp(await session.request({ op: 'register.add', method: 'totp' }), 'register.pending');
  const uri = pending.otpauthUri as string;
  const view = expectOp(await session.request({ op: 'register.verify', id: pending.id, code: totpCode(uri, now()) }), 'registration');
  return { uri, view };
}

export async function registerQuestions(session: ClientSession, answers: Record<string, string>): Promise<RegistrationView> {
  return expectOp(
    await session.request({ op: 'register.add', method: 'questions', answers: Object.entries(answers).map(([question, answer]) => ({ question, answer })) }),
    'registration',
  );
}

/** How to answer each kind of check. */
export interface Answers {
  /** otpauth:// URI of the person's app. */
  totp?: string;
  /** Answers by question id. */
  questions?: Record<string, string>;
  now?: () => number;
}

/** Sends (or asks for the questions), reads the code where the person would, verifies. Returns the raw answer. */
export async function tryGate(stack: Stack, session: ClientSession, gate: GateView, contact: string | undefined, answers: Answers = {}): Promise<AgentMessage> {
  const mailSince = stack.mail.messages.length;
  const smsSince = stack.sms.texts.length;
  const sent = await session.request({ op: 'gate.send', gate: gate.id });
  if (sent.op !== 'gate.sent') return sent;
  switch (gate.method) {
    case 'email':
      return session.request({ op: 'gate.verify', gate: gate.id, code: await stack.mail.codeFor(contact as string, { since: mailSince }) });
    case 'sms':
    case 'voice':
      return session.request({ op: 'gate.verify', gate: gate.id, code: await stack.sms.codeFor(contact as string, { since: smsSince }) });
    case 'totp':
      return session.request({ op: 'gate.verify', gate: gate.id, code: totpCode(answers.totp as string, (answers.now ?? Date.now)()) });
    case 'questions':
      return session.request({ op: 'gate.answer', gate: gate.id, answers: (sent.questions ?? []).map((q) => answers.questions?.[q.id] ?? 'no idea') });
  }
}
