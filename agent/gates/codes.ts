/**
 * One-time codes: drawn from a CSPRNG, kept only as a keyed hash (in the store), single-use,
 * short-lived, and replaced (not added to) when a new one is sent. The check and the consumption
 * are one atomic store operation, so of any number of parallel tries exactly one can succeed.
 */
import { createHmac, randomInt } from 'node:crypto';
import type { AgentStore, CodeCheck } from '../store/index.ts';

export type { CodeCheck } from '../store/index.ts';

export class OneTimeCodes {
  constructor(
    private readonly store: AgentStore,
    /** Keys the digests: a copy of the database alone can't be brute-forced offline. */
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh code of `digits` digits for `slot`; any earlier code for the same slot stops working. */
  async issue(slot: string, digits: number, ttlMs: number): Promise<string> {
    const code = String(randomInt(0, 10 ** digits)).padStart(digits, '0');
    await this.store.putCode(slot, this.digest(slot, code), this.now() + ttlMs);
    return code;
  }

  /** Spaces and dashes a person types between digit groups are ignored. */
  check(slot: string, code: string): Promise<CodeCheck> {
    return this.store.consumeCode(slot, this.digest(slot, code.replace(/[\s-]/g, '')), this.now());
  }

  private digest(slot: string, code: string): Buffer {
    return createHmac('sha256', this.key).update(slot).update('\0').update(code).digest();
  }
}
