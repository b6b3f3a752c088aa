/**
 * Decoy gates for people we can't help (unknown, out of scope, not registered enough), so that
 * their answers look exactly like everyone else's. Everything a decoy shows is derived from a
 * keyed hash of the id they typed: stable across tries (asking twice shows the same gates),
 * unguessable without the key, and different for every id.
 */
import { createHmac } from 'node:crypto';
import { maskEmail } from './mask.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Bytes for the decoy of `userId` (and `purpose`), the same every time for the same key. */
export function decoyBytes(key: Buffer, userId: string, purpose: string): Buffer {
  return createHmac('sha256', key).update(purpose).update('\0').update(userId.trim().toLowerCase()).digest();
}

/**
 * A masked address like the ones real people have: most addresses start with the letter the
 * account name starts with, so the decoy does too (a random letter would give real accounts away).
 */
export function decoyEmailHint(key: Buffer, userId: string, mailDomain: string): string {
  const id = userId.trim().toLowerCase();
  const local = id.includes('\\') ? id.slice(id.lastIndexOf('\\') + 1) : id;
  const first = /^[a-z]/.test(local) ? (local[0] as string) : (LETTERS[(decoyBytes(key, userId, 'email')[0] as number) % LETTERS.length] as string);
  return maskEmail(`${first}x@${mailDomain}`);
}

/** corp.example from DC=corp,DC=example. */
export function domainFromBaseDN(baseDN: string): string {
  return baseDN
    .split(',')
    .map((part) => part.trim())
    .filter((part) => /^dc=/i.test(part))
    .map((part) => part.slice(3))
    .join('.');
}

/** corp.example from "Unlatch <unlatch@corp.example>": decoys should look like the real addresses. */
export function mailDomainOf(address: string): string | undefined {
  return /@([A-Za-z0-9.-]+)>?\s*$/.exec(address)?.[1]?.toLowerCase();
}
