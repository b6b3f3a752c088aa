/**
 * Rate and connection limits: token buckets keyed by address or tenant, connection counters,
 * and a per-tenant connection-rate meter that drives the PoW difficulty.
 */

/** ws `maxPayload`: the largest frame the relay reads; larger ones close the connection (1009). */
export const MAX_FRAME_BYTES = 65_536;

export interface BucketRate {
  /** Tokens added per second (sustained rate). */
  perSecond: number;
  /** Bucket size (allowed burst). */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key. Memory is bounded: buckets that have refilled completely are forgotten
 * (they hold no information), and when `maxKeys` busy keys exist, new keys are refused: under a
 * flood from that many addresses, refusing is the right answer.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    private readonly rate: BucketRate,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`; false when the key is over its rate. */
  take(key: string): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        this.sweep(now, true);
        if (this.buckets.size >= this.maxKeys) return false;
      }
      b = { tokens: this.rate.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.rate.burst, b.tokens + ((now - b.at) / 1000) * this.rate.perSecond);
      b.at = now;
    }
    if (now - this.lastSweep > 10_000) this.sweep(now, false);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number, force: boolean): void {
    if (!force && now - this.lastSweep <= 10_000) return;
    this.lastSweep = now;
    const fullAfterMs = (this.rate.burst / this.rate.perSecond) * 1000;
    for (const [key, b] of this.buckets) {
      if (now - b.at >= fullAfterMs) this.buckets.delete(key);
    }
  }
}

/** Open connections, in total and per address. */
export class ConnectionCounter {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Why a new connection from `address` would exceed a cap, or undefined when it fits. */
  check(address: string): 'total' | 'address' | undefined {
    if (this.total >= this.maxTotal) return 'total';
    if ((this.perAddress.get(address) ?? 0) >= this.maxPerAddress) return 'address';
    return undefined;
  }

  add(address: string): void {
    this.total++;
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  remove(address: string): void {
    this.total--;
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }

  get size(): number {
    return this.total;
  }
}

/**
 * Events per second, smoothed: the count of the previous full second weighted by how much of it
 * still lies in the last second, plus the count so far in this one.
 */
export class RateMeter {
  private second = 0;
  private current = 0;
  private previous = 0;

  constructor(private readonly now: () => number = Date.now) {}

  record(): void {
    this.roll();
    this.current++;
  }

  perSecond(): number {
    this.roll();
    const into = (this.now() % 1000) / 1000;
    return this.previous * (1 - into) + this.current;
  }

  private roll(): void {
    const s = Math.floor(this.now() / 1000);
    if (s === this.second) return;
    this.previous = s === this.second + 1 ? this.current : 0;
    this.current = 0;
    this.second = s;
  }
}
