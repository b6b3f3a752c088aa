/**
 * The relay's view of each WebSocket connection ("link") and of a session between them.
 * Plain data; the behaviour lives in server.ts, agents.ts and sessions.ts.
 */
import type { WebSocket } from 'ws';
import type { SignedBundle } from '../protocol/envelope.ts';
import type { Tenant } from './tenants.ts';

interface LinkBase {
  readonly ws: WebSocket;
  /** Limits key: IPv4 address or IPv6 /64. */
  readonly address: string;
  /** Answered the last ping. */
  alive: boolean;
  closed: boolean;
}

export interface AgentLink extends LinkBase {
  readonly kind: 'agent';
  readonly tenant: Tenant;
  /** From `hello`; undefined until then. */
  agentId?: string;
  /** Latest bundle from `hello` or `bundle`. */
  bundle?: SignedBundle;
  readonly sessions: Set<Session>;
  helloTimer?: NodeJS.Timeout;
  /** Asked for the client address on a session's first `msg` (`from=1` at upgrade). */
  readonly wantsFrom?: boolean;
}

export interface ClientLink extends LinkBase {
  readonly kind: 'client';
  readonly tenantId: string;
  /** Undefined for an unknown tenant (the link only lives to say UNKNOWN_TENANT). */
  readonly tenant: Tenant | undefined;
  /** The client's own address (not the limits key), told to agents that ask for it. */
  readonly peer: string;
  state: 'pow' | 'open' | 'closed';
  session?: Session;
  /** Runs until `open` arrives: a client that never solves the PoW does not linger. */
  openTimer?: NodeJS.Timeout;
}

export type Link = AgentLink | ClientLink;

export interface Session {
  readonly sid: string;
  readonly tenant: Tenant;
  readonly client: ClientLink;
  /** The agent whose bundle the client received; every message of the session goes to it. */
  readonly agent: AgentLink;
  readonly openedAt: number;
  /** The first `msg` (with kid/wk) has gone to the agent. */
  forwarded: boolean;
  /** Client messages not yet followed by an agent answer. */
  waiting: number;
  lifetimeTimer?: NodeJS.Timeout;
  /** performance.now() when the oldest unanswered client message went to the agent. */
  waitingSince?: number | undefined;
  ended: boolean;
}
