/**
 * Pure helpers of the registration page: the authenticator secret's text form, and which
 * methods a person may still add. No DOM, no extension API (Node tests import it).
 */
import type { GateMethod, RegistrationView } from '../../protocol/messages.ts';
import type { PasswordField } from '../../protocol/password.ts';

/**
 * The password-layer field `register.start`'s current password is sealed for. The agent opens
 * it as 'oldPassword' (agent/session/flow.ts registerStart, like unlatch-client and the
 * integration tests), so that is what we seal with, whatever the message field is called.
 */
export const CURRENT_PASSWORD_FIELD: PasswordField = 'oldPassword';

/** The Base32 secret of an otpauth://totp/ URI, or undefined when it has none. */
export function totpSecretOf(uri: string): string | undefined {
  try {
    const secret = new URL(uri).searchParams.get('secret');
    return secret && /^[A-Z2-7]+=*$/i.test(secret) ? secret.toUpperCase().replace(/=+$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** A secret in groups of four, for typing it into an app by hand. */
export function groupSecret(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(' ');
}

/** The forms the page offers, in this order: phone (sms/voice share one form), e-mail, app, questions. */
export type AddForm = 'phone' | 'email' | 'totp' | 'questions';

export function addForms(view: Pick<RegistrationView, 'enabled' | 'questions'>): AddForm[] {
  const on = new Set<GateMethod>(view.enabled);
  const forms: AddForm[] = [];
  if (on.has('sms') || on.has('voice')) forms.push('phone');
  if (on.has('email')) forms.push('email');
  if (on.has('totp')) forms.push('totp');
  if (on.has('questions') && view.questions.length > 0) forms.push('questions');
  return forms;
}

/** Answers for register.add: one per chosen question, trimmed; duplicates and blanks refused. */
export function questionAnswers(
  picks: Array<{ question: string; answer: string }>,
  needed: number,
): { ok: true; answers: Array<{ question: string; answer: string }> } | { ok: false; problem: 'missing' | 'duplicate' } {
  const answers = picks.map((p) => ({ question: p.question, answer: p.answer.trim() }));
  if (answers.length < Math.max(1, needed) || answers.some((a) => !a.question || !a.answer)) return { ok: false, problem: 'missing' };
  if (new Set(answers.map((a) => a.question)).size !== answers.length) return { ok: false, problem: 'duplicate' };
  return { ok: true, answers };
}
