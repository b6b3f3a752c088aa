/**
 * The client side of the relay's proof of work: find a nonce such that
 * SHA-256(challenge bytes ‖ nonce bytes) starts with `difficulty` zero bits.
 *
 * WebCrypto only (it runs in the extension too). `crypto.subtle.digest` is asynchronous and each
 * call has a fixed overhead, so digests are issued in batches and awaited together: one await per
 * batch instead of one per hash is what makes this several times faster, and awaiting between
 * batches keeps a page responsive.
 */
import { fromBase64Url, toBase64Url } from './bytes.ts';

/** Nonce length in bytes: a big-endian counter (the protocol allows up to 32 bytes). */
export const POW_NONCE_BYTES = 8;
const BATCH = 1024;
/** Refuse absurd difficulties instead of spinning for ever (2^32 hashes is hours in a browser). */
export const MAX_SOLVABLE_DIFFICULTY = 32;

/** Number of leading zero bits of `bytes` (8 × length when all are zero). */
export function leadingZeroBits(bytes: Uint8Array): number {
  let bits = 0;
  for (const b of bytes) {
    if (b === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(b) - 24;
  }
  return bits;
}

/**
 * Solves a challenge. `onProgress` gets a fraction 0..1 after each batch (the chance a solution
 * would have been found by now, so it rises quickly and then slows, like the real odds) and 1 at
 * the end. Returns the nonce as base64url.
 */
export async function solvePow(
  challengeB64u: string,
  difficulty: number,
  onProgress?: (fraction: number) => void,
): Promise<string> {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_SOLVABLE_DIFFICULTY) {
    throw new RangeError(`proof-of-work difficulty must be an integer 0..${MAX_SOLVABLE_DIFFICULTY}`);
  }
  const challenge = fromBase64Url(challengeB64u);
  const subtle = globalThis.crypto.subtle;
  const expected = 2 ** difficulty;
  const inputLength = challenge.length + POW_NONCE_BYTES;
  for (let counter = 0; ; counter += BATCH) {
    const inputs: Uint8Array<ArrayBuffer>[] = [];
    const digests: Promise<ArrayBuffer>[] = [];
    for (let i = 0; i < BATCH; i++) {
      const input = new Uint8Array(inputLength);
      input.set(challenge);
      writeCounter(input, challenge.length, counter + i);
      inputs.push(input);
      digests.push(subtle.digest('SHA-256', input));
    }
    const results = await Promise.all(digests);
    for (let i = 0; i < BATCH; i++) {
      if (leadingZeroBits(new Uint8Array(results[i] as ArrayBuffer)) >= difficulty) {
        onProgress?.(1);
        return toBase64Url((inputs[i] as Uint8Array).subarray(challenge.length));
      }
    }
    onProgress?.(1 - Math.exp(-(counter + BATCH) / expected));
  }
}

/** Checks a solution with WebCrypto (the relay uses Node's hash for speed; tests use this). */
export async function checkPow(challengeB64u: string, nonceB64u: string, difficulty: number): Promise<boolean> {
  const challenge = fromBase64Url(challengeB64u);
  const nonce = fromBase64Url(nonceB64u);
  const input = new Uint8Array(challenge.length + nonce.length);
  input.set(challenge);
  input.set(nonce, challenge.length);
  return leadingZeroBits(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', input))) >= difficulty;
}

function writeCounter(out: Uint8Array, offset: number, value: number): void {
  // Counters stay far below 2^53; write them as a 64-bit big-endian integer.
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value >>> 0;
  out[offset] = high >>> 24;
  out[offset + 1] = (high >>> 16) & 0xff;
  out[offset + 2] = (high >>> 8) & 0xff;
  out[offset + 3] = high & 0xff;
  out[offset + 4] = low >>> 24;
  out[offset + 5] = (low >>> 16) & 0xff;
  out[offset + 6] = (low >>> 8) & 0xff;
  out[offset + 7] = low & 0xff;
}
