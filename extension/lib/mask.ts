/**
 * Contact data on screen. The agent already masks what it sends (a•••@corp.example,
 * •••••89); the extension masks again before display so that an agent misconfigured to send
 * full addresses still never shows more than a person needs to recognise their own.
 */
import type { GateMethod } from '../../protocol/messages.ts';

const DOTS = '•••';

export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return DOTS;
  return `${address[0]}${DOTS}@${address.slice(at + 1)}`;
}

export function maskPhone(number: string): string {
  const digits = number.replace(/\D/g, '');
  return `••${DOTS}${digits.slice(-2)}`;
}

/** A hint safe to show for a gate: already-masked hints pass, anything else is masked here. */
export function displayHint(method: GateMethod, hint: string): string {
  switch (method) {
    case 'email': {
      const at = hint.lastIndexOf('@');
      const local = at < 0 ? hint : hint.slice(0, at);
      // Masked: at most one visible character before the dots.
      return /^[^•]?•+$/.test(local) && at > 0 ? hint : maskEmail(hint);
    }
    case 'sms':
    case 'voice':
      return (hint.match(/\d/g) ?? []).length <= 2 ? hint : maskPhone(hint);
    default:
      // Authenticator names and security questions are not contact data.
      return hint;
  }
}
