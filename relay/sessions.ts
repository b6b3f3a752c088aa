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
    this.perTenant.set(tenant.id, (this.perTenant.get(tenant.id) ?? 0) + 1);
    return session;
  }

  get(sid: string): Session | undefined {
    return this.sessions.get(sid);
  }

  /** A client message went to the agent: start the answer clock unless one is running. */
  clientSent(session: Session): void {
    session.waiting++;
    if (!session.waitTimer) this.startWait(session);
  }

  /** The agent answered: the oldest waiting message is served; time the next one afresh. */
  agentAnswered(session: Session): void {
    session.waiting = Math.max(0, session.waiting - 1);
    clearTimeout(session.waitTimer);
    session.waitTimer = undefined;
    if (session.waiting > 0) this.startWait(session);
  }

  /** Removes a session; idempotent. */
  end(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    clearTimeout(session.lifetimeTimer);
    clearTimeout(session.waitTimer);
    session.waitTimer = undefined;
    this.sessions.delete(session.sid);
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

  private startWait(session: Session): void {
    session.waitTimer = setTimeout(() => this.expire(session, 'message-timeout'), this.options.messageTimeoutMs);
    session.waitTimer.unref();
  }

  private expire(session: Session, reason: ExpiryReason): void {
    if (session.ended) return;
    this.end(session);
    this.options.onExpire(session, reason);
  }
}
