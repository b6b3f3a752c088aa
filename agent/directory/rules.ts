/**
 * Active Directory's password rules as pure functions (no LDAP): length and the "Password must
 * meet complexity requirements" setting. The DC stays the authority; these explain a refusal
 * whose message does not say which rule failed (Windows DCs answer a generic 0000052D), and
 * let a client show the rules before the user types.
 *
 * Complexity, as Windows documents it:
 *   - the password must not contain the account name (sAMAccountName) when that is 3+ chars,
 *     nor any 3+ char token of the display name (split at , . - _ # tab space), ignoring case;
 *   - it must contain characters from 3 of these 5 groups: upper case letters, lower case
 *     letters, digits 0-9, non-alphanumeric characters, other Unicode letters (no case).
 */

export interface PasswordRules {
  minLength: number;
  complexity: boolean;
}

export interface PasswordOwner {
  sam?: string | undefined;
  displayName?: string | undefined;
}

export type RuleFailure = 'too_short' | 'complexity';

const TOKEN_SPLIT = /[,.\-_#\t ]+/;

/** Length as AD counts it: UTF-16 code units. */
export function passwordLength(password: string): number {
  return password.length;
}

/** How many of the five character groups the password uses. */
export function characterGroups(password: string): number {
  let upper = false;
  let lower = false;
  let digit = false;
  let other = false;
  let caseless = false;
  for (const ch of password) {
    if (/^[0-9]$/.test(ch)) digit = true;
    else if (/^\p{Lu}$/u.test(ch)) upper = true;
    else if (/^\p{Ll}$/u.test(ch)) lower = true;
    else if (/^\p{L}$/u.test(ch)) caseless = true;
    else other = true;
  }
  return [upper, lower, digit, other, caseless].filter(Boolean).length;
}

/** True when the password contains the account name or a display-name token (3+ chars). */
export function containsOwnerName(password: string, owner: PasswordOwner = {}): boolean {
  const pw = password.toLowerCase();
  const sam = owner.sam?.toLowerCase();
  if (sam && sam.length >= 3 && pw.includes(sam)) return true;
  for (const token of (owner.displayName ?? '').split(TOKEN_SPLIT)) {
    if (token.length >= 3 && pw.includes(token.toLowerCase())) return true;
  }
  return false;
}

export function meetsComplexity(password: string, owner: PasswordOwner = {}): boolean {
  return characterGroups(password) >= 3 && !containsOwnerName(password, owner);
}

/** The rules this password breaks (empty when it passes the ones we can check locally). */
export function checkPasswordRules(rules: PasswordRules, password: string, owner: PasswordOwner = {}): RuleFailure[] {
  const failures: RuleFailure[] = [];
  if (passwordLength(password) < rules.minLength) failures.push('too_short');
  if (rules.complexity && !meetsComplexity(password, owner)) failures.push('complexity');
  return failures;
}
