/**
 * The domain's password rules, checked as the person types. Only rules the client can judge
 * are checked here (length, Active Directory complexity, the user name inside the password);
 * history and minimum age are known only to the directory, which refuses after submit.
 * Mirrors AD's "Password must meet complexity requirements": not containing the account name,
 * and at least three of upper case, lower case, digits, symbols and other letters.
 */
import type { PolicyReason } from '../../protocol/errors.ts';
import type { PasswordPolicyView } from '../../protocol/messages.ts';
import { MAX_PASSWORD_BYTES } from '../../protocol/password.ts';

export type RuleId = 'length' | 'categories' | 'no_user_name' | 'max_bytes';

export interface RuleCheck {
  id: RuleId;
  ok: boolean;
}

export interface PasswordCheck {
  checks: RuleCheck[];
  /** The first broken rule as the directory would name it, when one is known. */
  violation?: PolicyReason | 'too_long';
}

/** AD's own list of symbols; currency symbols and spaces do not count. */
const SYMBOLS = /[~!@#$%^&*_\-+=`|\\(){}[\]:;"'<>,.?/]/;

/** How many of AD's five character categories a password uses. */
export function categoryCount(password: string): number {
  let n = 0;
  if (/\p{Lu}/u.test(password)) n++;
  if (/\p{Ll}/u.test(password)) n++;
  if (/[0-9]/.test(password)) n++;
  if (SYMBOLS.test(password)) n++;
  if (/\p{Lo}/u.test(password)) n++;
  return n;
}

/** The account name inside a typed user id: alice@corp.example and CORP\alice give alice. */
export function accountName(userId: string): string {
  const afterSlash = userId.slice(userId.lastIndexOf('\\') + 1);
  const at = afterSlash.indexOf('@');
  return (at > 0 ? afterSlash.slice(0, at) : afterSlash).trim();
}

export function checkPassword(password: string, policy: PasswordPolicyView, userId: string): PasswordCheck {
  const checks: RuleCheck[] = [];
  let violation: PasswordCheck['violation'];
  const fail = (reason: NonNullable<PasswordCheck['violation']>) => (violation ??= reason);

  if (policy.minLength > 0) {
    const ok = password.length >= policy.minLength;
    checks.push({ id: 'length', ok });
    if (!ok) fail('too_short');
  }
  if (policy.complexity) {
    const categories = categoryCount(password) >= 3;
    checks.push({ id: 'categories', ok: categories });
    const name = accountName(userId);
    // AD ignores account names of two characters or fewer.
    const noName = name.length < 3 || !password.toLowerCase().includes(name.toLowerCase());
    checks.push({ id: 'no_user_name', ok: noName });
    if (!categories || !noName) fail('complexity');
  }
  const bytesOk = new TextEncoder().encode(password).length <= MAX_PASSWORD_BYTES;
  if (!bytesOk) {
    checks.push({ id: 'max_bytes', ok: false });
    fail('too_long');
  }
  return violation ? { checks, violation } : { checks };
}
