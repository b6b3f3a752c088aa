/**
 * The relay's proof of work, in place of a CAPTCHA. Stateless until solved: a challenge carries
 * its own tenant, expiry and difficulty under an HMAC only this relay (or relays sharing its
 * key file) can make:
 *
 *   base64url(version ‖ SHA-256(tenant)[0..8] ‖ expiry (uint64 ms, BE) ‖ difficulty ‖ random16 ‖
 *             HMAC-SHA-256(key, all of those)[0..16])               = 50 bytes, 67 characters
 *
 * A solution is a nonce (≤ 32 bytes) such that SHA-256(challenge bytes ‖ nonce bytes) starts with
 * `difficulty` zero bits. Each solved challenge is accepted once: its random part is remembered
 * until it expires, in a bounded set.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { leadingZeroBits } from '../protocol/pow.ts';

const VERSION = 1;
const TENANT_HASH_BYTES = 8;
const RANDOM_BYTES = 16;
const MAC_BYTES = 16;
const SIGNED_BYTES = 1 + TENANT_HASH_BYTES + 8 + 1 + RANDOM_BYTES; // 34
export const CHALLENGE_BYTES = SIGNED_BYTES + MAC_BYTES; // 50
const MAX_NONCE_BYTES = 32;

export type PowFailure = 'malformed' | 'forged' | 'wrong-tenant' | 'expired' | 'insufficient' | 'reused' | 'full';
export type PowResult = { ok: true } | { ok: false; reason: PowFailure };

export interface PowOptions {
  /** HMAC key, ≥ 32 bytes. */
  key: Uint8Array;
  ttlMs: number;
  /** How many solved, unexpired challenges are remembered at most. */
  maxRemembered: number;
  now?: () => number;
}

export interface LoadInput {
  /** Open sessions of the tenant. */
  sessions: number;
  /** New client connections per second to the tenant. */
  connectionsPerSecond: number;
}

export interface DifficultyPolicy {
  difficulty: number;
  maxDifficulty: number;
  loadStep: number;
  sessionsPerStep: number;
  connectionsPerSecondPerStep: number;
}

/** Base difficulty plus `loadStep` bits per step of load, capped at `maxDifficulty`. */
export function difficultyFor(load: LoadInput, policy: DifficultyPolicy): number {
  const steps =
    Math.floor(load.sessions / policy.sessionsPerStep) + Math.floor(load.connectionsPerSecond / policy.connectionsPerSecondPerStep);
  return Math.min(policy.maxDifficulty, policy.difficulty + steps * policy.loadStep);
}

function tenantHash(tenant: string): Buffer {
  return createHash('sha256').update(tenant, 'utf8').digest().subarray(0, TENANT_HASH_BYTES);
}

export class ProofOfWork {
  private readonly key: Buffer;
  private readonly now: () => number;
  /** Solved challenges: random part (hex) → expiry. Insertion order ≈ expiry order. */
  private readonly used = new Map<string, number>();

  constructor(private readonly options: PowOptions) {
    if (options.key.length < 32) throw new RangeError('the proof-of-work key must be at least 32 bytes');
    this.key = Buffer.from(options.key);
    this.now = options.now ?? Date.now;
  }

  /** A new challenge for `tenant` at `difficulty` bits, base64url. */
  issue(tenant: string, difficulty: number): string {
    const out = Buffer.alloc(CHALLENGE_BYTES);
    out[0] = VERSION;
    tenantHash(tenant).copy(out, 1);
    out.writeBigUInt64BE(BigInt(this.now() + this.options.ttlMs), 1 + TENANT_HASH_BYTES);
    out[1 + TENANT_HASH_BYTES + 8] = difficulty;
    randomBytes(RANDOM_BYTES).copy(out, SIGNED_BYTES - RANDOM_BYTES);
    this.mac(out.subarray(0, SIGNED_BYTES)).copy(out, SIGNED_BYTES);
    return out.toString('base64url');
  }

  /** Checks a solution and, when it is good, marks the challenge used. */
  verify(tenant: string, challengeB64u: string, nonceB64u: string): PowResult {
    const challenge = decode(challengeB64u);
    const nonce = decode(nonceB64u);
    if (!challenge || challenge.length !== CHALLENGE_BYTES || challenge[0] !== VERSION) return fail('malformed');
    if (!nonce || nonce.length === 0 || nonce.length > MAX_NONCE_BYTES) return fail('malformed');
    const signed = challenge.subarray(0, SIGNED_BYTES);
    if (!timingSafeEqual(this.mac(signed), challenge.subarray(SIGNED_BYTES))) return fail('forged');
    if (!tenantHash(tenant).equals(challenge.subarray(1, 1 + TENANT_HASH_BYTES))) return fail('wrong-tenant');
    const expiry = Number(challenge.readBigUInt64BE(1 + TENANT_HASH_BYTES));
    const now = this.now();
    if (expiry <= now) return fail('expired');
    const difficulty = challenge[1 + TENANT_HASH_BYTES + 8] as number;
    const digest = createHash('sha256').update(challenge).update(nonce).digest();
    if (leadingZeroBits(digest) < difficulty) return fail('insufficient');
    const id = challenge.toString('hex', SIGNED_BYTES - RANDOM_BYTES, SIGNED_BYTES);
    if (this.used.has(id)) return fail('reused');
    this.forgetExpired(now);
    if (this.used.size >= this.options.maxRemembered) {
      this.forgetExpired(now, true);
      // Cannot remember one more: refuse rather than risk accepting a replay.
      if (this.used.size >= this.options.maxRemembered) return fail('full');
    }
    this.used.set(id, expiry);
    return { ok: true };
  }

  /** Solved challenges currently remembered. */
  get remembered(): number {
    return this.used.size;
  }

  private mac(signed: Uint8Array): Buffer {
    return createHmac('sha256', this.key).update(signed).digest().subarray(0, MAC_BYTES);
  }

  /** Drops expired entries from the front (cheap), or all of them (`all`, when full). */
  private forgetExpired(now: number, all = false): void {
    for (const [id, expiry] of this.used) {
      if (expiry <= now) this.used.delete(id);
      else if (!all) break;
    }
  }
}

function fail(reason: PowFailure): PowResult {
  return { ok: false, reason };
}

function decode(b64u: string): Buffer | undefined {
  // Buffer's decoder skips bad characters silently; insist on the canonical alphabet.
  if (!/^[A-Za-z0-9_-]*$/.test(b64u) || b64u.length % 4 === 1) return undefined;
  return Buffer.from(b64u, 'base64url');
}
