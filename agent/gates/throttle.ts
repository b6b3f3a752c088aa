/**
 * Self-service throttles, modelled on the writeback anchor: too many wrong answers on one method,
 * or too many resets, in an hour block that person's self-service for a while (24 h by default).
 * The directory account itself is never touched by this.
 *
 * Attempts are counted *before* they are checked (and taken back when they succeed), in one
 * atomic store step: of any number of parallel guesses, each is counted and at most
 * `maxFailuresPerHour` of them are ever checked. Counts live in the store, so they survive a
 * restart and are shared by the agents that share it.
 */
import type { AgentStore } from '../store/index.ts';

export interface ThrottleLimits {
  /** Wrong answers per method per hour; the next one blocks. */
  maxFailuresPerHour: number;
  maxResetsPerHour: number;
  blockMs: number;
  /** Codes sent per person per hour (not a block: RATE_LIMITED). */
  maxSendsPerHour: number;
}

export const HOUR_MS = 3_600_000;

/** An attempt counted ahead of its check. */
export interface Attempt {
  id: number;
  /** Over the limit already: refuse without checking. */
  refused: boolean;
  /** This attempt is the last one allowed: if it fails, the person is blocked. */
  last: boolean;
}

export class Throttle {
  constructor(
    private readonly store: AgentStore,
    readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async isBlocked(subject: string): Promise<boolean> {
    return (await this.store.blockedUntil(subject)) > this.now();
  }

  /** Counts an attempt on `method` before it is checked. A refused one blocks (if not blocked yet). */
  async attempt(subject: string, method: string): Promise<Attempt> {
    const now = this.now();
    const { id, count } = await this.store.addAttempt(subject, `fail:${method}`, now, now - HOUR_MS);
    const max = this.limits.maxFailuresPerHour;
    if (count > max) await this.store.block(subject, now + this.limits.blockMs, 'failures');
    return { id, refused: count > max, last: count === max };
  }

  /** The attempt succeeded: it does not count. */
  async succeeded(attempt: Attempt): Promise<void> {
    await this.store.removeAttempt(attempt.id);
  }

  /** The attempt failed (it stays counted); true when this failure blocked the person. */
  async failed(subject: string, attempt: Attempt): Promise<boolean> {
    if (!attempt.last) return false;
    await this.store.block(subject, this.now() + this.limits.blockMs, 'failures');
    return true;
  }

  /** Counts a failure that was not checked ahead (e.g. a wrong current password); true when it blocked. */
  async recordFailure(subject: string, method: string): Promise<boolean> {
    const attempt = await this.attempt(subject, method);
    return attempt.refused ? false : this.failed(subject, attempt);
  }

  /** Counts a completed reset or unlock; true when the person is now blocked. */
  async recordReset(subject: string): Promise<boolean> {
    const now = this.now();
    const { count } = await this.store.addAttempt(subject, 'reset', now, now - HOUR_MS);
    if (count < this.limits.maxResetsPerHour) return false;
    await this.store.block(subject, now + this.limits.blockMs, 'resets');
    return count === this.limits.maxResetsPerHour;
  }

  /** Counts a code send; false when the person asked for too many this hour. */
  async allowSend(subject: string): Promise<boolean> {
    const now = this.now();
    const { count } = await this.store.addAttempt(subject, 'send', now, now - HOUR_MS);
    return count <= this.limits.maxSendsPerHour;
  }
}
