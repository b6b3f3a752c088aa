/**
 * Decoy gates for people we can't help (unknown, out of scope, no contact data), so that their
 * answers look exactly like everyone else's. The decoy is derived from a keyed hash of the id
 * they typed: stable across tries (asking twice shows the same hint), unguessable without the key.
 */
import { createHmac } from 'node:crypto';
import { maskEmail } from './mask.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export function decoyEmailHint(key: Buffer, userId: string, mailDomain: string): string {
  const digest = createHmac('sha256', key).update(userId.trim().toLowerCase()).digest();
  const first = LETTERS[(digest[0] as number) % LETTERS.length] as string;
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
