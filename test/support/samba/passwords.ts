import { randomBytes, randomInt } from 'node:crypto';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGIT = '23456789';
const SYMBOL = '!#%+-=?@^_~';
const ALL = UPPER + LOWER + DIGIT + SYMBOL;

/**
 * A random password that satisfies AD complexity (all four character classes) and any minimum
 * length up to `length` (default 20), and never contains `avoid` (AD refuses a password that
 * contains the account name).
 */
export function randomPassword(length = 20, avoid?: string): string {
  for (;;) {
    const chars = [pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
    while (chars.length < length) chars.push(pick(ALL));
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    const pw = chars.join('');
    if (!avoid || avoid.length < 3 || !pw.toLowerCase().includes(avoid.toLowerCase())) return pw;
  }
}

function pick(set: string): string {
  return set[randomInt(set.length)]!;
}

/** A short random suffix for unique account names (sAMAccountName is at most 20 chars). */
export function randomSuffix(bytes = 3): string {
  return randomBytes(bytes).toString('hex');
}
