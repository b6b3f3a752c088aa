/**
 * Self-service throttles, modelled on the writeback anchor: too many failed verifications or
 * too many resets in an hour block that person's self-service for a while. The directory
 * account itself is never touched by this.
 */

export interface ThrottleLimits {
  maxFailuresPerHour: number;
  maxResetsPerHour: number;
  blockMs: number;
}

const HOUR_MS = 3_600_000;

interface Record {
  failures: number[];
  resets: number[];
  blockedUntil: number;
}

export class Throttle {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  isBlocked(subject: string): boolean {
    return (this.records.get(subject)?.blockedUntil ?? 0) > this.now();
  }

  /** Counts a failed verification; true when this failure blocked the subject. */
  recordFailure(subject: string): boolean {
    return this.record(subject, 'failures', this.limits.maxFailuresPerHour);
  }

  /** Counts a completed reset or unlock; true when the subject is now blocked. */
  recordReset(subject: string): boolean {
    return this.record(subject, 'resets', this.limits.maxResetsPerHour);
  }

  private record(subject: string, kind: 'failures' | 'resets', max: number): boolean {
    const now = this.now();
    const r = this.records.get(subject) ?? { failures: [], resets: [], blockedUntil: 0 };
    r[kind] = r[kind].filter((t) => t > now - HOUR_MS);
    r[kind].push(now);
    this.records.set(subject, r);
    if (r[kind].length >= max && r.blockedUntil <= now) {
      r.blockedUntil = now + this.limits.blockMs;
      return true;
    }
    return false;
  }
}
