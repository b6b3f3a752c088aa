/**
 * One-time codes: drawn from a CSPRNG, kept only as a keyed hash, single-use, short-lived, and
 * replaced (not added to) when a new one is sent. Verification checks and consumes in one
 * synchronous step, so of any number of parallel tries exactly one can succeed.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export type CodeCheck = 'ok' | 'wrong' | 'expired';

interface Pending {
  digest: Buffer;
  expires: number;
}

export class OneTimeCodes {
  private readonly pending = new Map<string, Pending>();
  /** Per-process key: a stolen memory dump of digests can't be brute-forced offline. */
  private readonly key = randomBytes(32);

  constructor(
    private readonly digits: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh code for `slot`; any earlier code for the same slot stops working. */
  issue(slot: string): string {
    const code = String(randomInt(0, 10 ** this.digits)).padStart(this.digits, '0');
    this.pending.set(slot, { digest: this.digest(slot, code), expires: this.now() + this.ttlMs });
    return code;
  }

  check(slot: string, code: string): CodeCheck {
    const entry = this.pending.get(slot);
    const candidate = this.digest(slot, code.replace(/[\s-]/g, ''));
    if (!entry) return 'expired';
    if (entry.expires <= this.now()) {
      this.pending.delete(slot);
      return 'expired';
    }
    if (!timingSafeEqual(entry.digest, candidate)) return 'wrong';
    this.pending.delete(slot);
    return 'ok';
  }

  /** Drops expired entries; call from a timer so abandoned sessions don't accumulate. */
  sweep(): void {
    const now = this.now();
    for (const [slot, entry] of this.pending) if (entry.expires <= now) this.pending.delete(slot);
  }

  private digest(slot: string, code: string): Buffer {
    return createHmac('sha256', this.key).update(slot).update('\0').update(code).digest();
  }
}
