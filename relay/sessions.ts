/**
 * The session table: sid → (client link, agent link), plus the two clocks of a session — its
 * total lifetime, and how long a client message may wait for the agent's answer.
 */
import { randomBytes } from 'node:crypto';
import type { AgentLink, ClientLink, Session } from './links.ts';
import type { Tenant } from './tenants.ts';

/** 16 random bytes → 22 base64url characters. */
export const SID_BYTES = 16;

export type ExpiryReason = 'lifetime' | 'message-timeout';

export interface SessionTableOptions {
  lifetimeMs: number;
  messageTimeoutMs: number;
  /** Called once when a session runs out of time; the table has already ended it. */
  onExpire: (session: Session, reason: ExpiryReason) => void;
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();
  private readonly perTenant = new Map<string, number>();
  /**
   * One sweep for every session's answer clock instead of a timer per message: a lock-step
   * session would otherwise create and clear a timer on every frame, the relay's hottest path.
   */
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: SessionTableOptions) {}

  open(tenant: Tenant, client: ClientLink, agent: AgentLink): Session {
    let sid: string;
    do sid = randomBytes(SID_BYTES).toString('base64url');
    while (this.sessions.has(sid));
    const session: Session = { sid, tenant, client, agent, openedAt: Date.now(), forwarded: false, waiting: 0, ended: false };
    session.lifetimeTimer = setTimeout(() => this.expire(session, 'lifetime'), this.options.lifetimeMs);
    session.lifetimeTimer.unref();
    this.sessions.set(sid, session);
    agent.sessions.add(session);
    this.startSweeper();
    this.perTenant.set(tenant.id, (this.perTenant.get(tenant.id) ?? 0) + 1);
    return session;
  }

  get(sid: string): Session | undefined {
    return this.sessions.get(sid);
  }

  /** A client message went to the agent: start the answer clock unless one is running. */
  clientSent(session: Session): void {
    if (session.waiting++ === 0) session.waitingSince = performance.now();
  }

  /** The agent answered: the oldest waiting message is served; time the next one afresh. */
  agentAnswered(session: Session): void {
    session.waiting = Math.max(0, session.waiting - 1);
    session.waitingSince = session.waiting > 0 ? performance.now() : undefined;
  }

  /** Removes a session; idempotent. */
  end(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    clearTimeout(session.lifetimeTimer);
    session.waitingSince = undefined;
    this.sessions.delete(session.sid);
    if (this.sessions.size === 0) this.stopSweeper();
    session.agent.sessions.delete(session);
    const n = (this.perTenant.get(session.tenant.id) ?? 1) - 1;
    if (n <= 0) this.perTenant.delete(session.tenant.id);
    else this.perTenant.set(session.tenant.id, n);
  }

  /** Ends every session (shutdown) without calling onExpire. */
  clear(): void {
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  countFor(tenantId: string): number {
    return this.perTenant.get(tenantId) ?? 0;
  }

  get size(): number {
    return this.sessions.size;
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    // A quarter of the timeout (at most 1 s): a message expires at most 25 % late.
    const every = Math.max(10, Math.min(1000, this.options.messageTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const deadline = performance.now() - this.options.messageTimeoutMs;
    for (const session of this.sessions.values()) {
      if (session.waitingSince !== undefined && session.waitingSince <= deadline) this.expire(session, 'message-timeout');
    }
  }

  private expire(session: Session, reason: ExpiryReason): void {
    if (session.ended) return;
    this.end(session);
    this.options.onExpire(session, reason);
  }
}
