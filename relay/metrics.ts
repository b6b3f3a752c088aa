/**
 * The relay's Prometheus metrics, served on GET /metrics of its own HTTP server
 * (`metrics.enabled`, default true).
 *
 * Every relay has its own Registry (tests start several in one process). What is exposed is
 * what the relay may log anyway: tenant ids, counts, codes, timings. Label values come only
 * from fixed sets or from the configured tenants: an id a client made up is counted as
 * "(unknown)", so nobody outside can grow the number of series.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RelayErrorCode } from '../protocol/envelope.ts';
import type { FrameDirection, RelayStats } from './server.ts';

/** Label of a tenant id the relay does not serve (not a valid id, so it cannot clash with one). */
export const UNKNOWN_TENANT_LABEL = '(unknown)';

/** Close codes worth a label of their own; anything else a peer sends is "other". */
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1013, 4000]);

/** Where the round-trip clock of a session's messages is kept: send times of unanswered messages. */
interface Timed {
  readonly tenant: { readonly id: string };
}

export class RelayMetrics {
  readonly registry = new Registry();
  private readonly tenants: Set<string>;
  private readonly sessionsOpened: Counter<'tenant'>;
  private readonly frames: Counter<'tenant' | 'direction'>;
  private readonly errors: Counter<'tenant' | 'code'>;
  private readonly connections: Counter<'kind'>;
  private readonly closes: Counter<'kind' | 'code'>;
  private readonly agentConnections: Counter<'tenant'>;
  private readonly agentAuthFailures: Counter<'tenant'>;
  private readonly roundTrip: Histogram<'tenant'>;
  private readonly waiting = new WeakMap<Timed, number[]>();

  constructor(tenantIds: Iterable<string>, stats: () => RelayStats) {
    this.tenants = new Set(tenantIds);
    const registers = [this.registry];
    this.sessionsOpened = new Counter({
      name: 'unlatch_relay_sessions_opened_total',
      help: 'Sessions opened (proof of work accepted, an agent assigned), by tenant.',
      labelNames: ['tenant'],
      registers,
    });
    this.frames = new Counter({
      name: 'unlatch_relay_frames_total',
      help: 'Frames received from or sent to clients and agents, by tenant and direction (from-client, to-agent, from-agent, to-client).',
      labelNames: ['tenant', 'direction'],
      registers,
    });
    this.errors = new Counter({
      name: 'unlatch_relay_errors_total',
      help: 'Error frames sent to clients, by tenant and code (AGENT_OFFLINE, RATE_LIMITED, POW_INVALID, …).',
      labelNames: ['tenant', 'code'],
      registers,
    });
    this.connections = new Counter({
      name: 'unlatch_relay_connections_total',
      help: 'WebSocket connections accepted, by kind (agent, client).',
      labelNames: ['kind'],
      registers,
    });
    this.closes = new Counter({
      name: 'unlatch_relay_connections_closed_total',
      help: 'WebSocket connections closed, by kind and close code ("other" for codes the relay does not use).',
      labelNames: ['kind', 'code'],
      registers,
    });
    this.agentConnections = new Counter({
      name: 'unlatch_relay_agent_connections_total',
      help: 'Agents that came online (said hello), by tenant: more than the number of agents means reconnects.',
      labelNames: ['tenant'],
      registers,
    });
    this.agentAuthFailures = new Counter({
      name: 'unlatch_relay_agent_auth_failures_total',
      help: 'Agent connections refused for a wrong tenant secret (HTTP 401), by tenant.',
      labelNames: ['tenant'],
      registers,
    });
    this.roundTrip = new Histogram({
      name: 'unlatch_relay_agent_answer_seconds',
      help: 'Time from a client message reaching the relay to the agent\'s answer leaving it, by tenant.',
      labelNames: ['tenant'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    const known = this.tenants;
    new Gauge({
      name: 'unlatch_relay_sessions_active',
      help: 'Sessions open now, by tenant.',
      labelNames: ['tenant'],
      registers,
      collect() {
        for (const [tenant, t] of Object.entries(stats().tenants)) if (known.has(tenant)) this.set({ tenant }, t.sessions);
      },
    });
    new Gauge({
      name: 'unlatch_relay_agents_online',
      help: 'Agents online now (said hello), by tenant.',
      labelNames: ['tenant'],
      registers,
      collect() {
        for (const [tenant, t] of Object.entries(stats().tenants)) if (known.has(tenant)) this.set({ tenant }, t.agents);
      },
    });
    new Gauge({
      name: 'unlatch_relay_connections_open',
      help: 'WebSocket connections open now, by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        const s = stats();
        this.set({ kind: 'agent' }, s.connections - s.clients);
        this.set({ kind: 'client' }, s.clients);
      },
    });
  }

  frame(direction: FrameDirection, tenant: string): void {
    this.frames.inc({ tenant: this.label(tenant), direction });
  }

  sessionOpened(tenant: string): void {
    this.sessionsOpened.inc({ tenant: this.label(tenant) });
  }

  relayError(tenant: string, code: RelayErrorCode): void {
    this.errors.inc({ tenant: this.label(tenant), code });
  }

  connectionOpened(kind: 'agent' | 'client'): void {
    this.connections.inc({ kind });
  }

  connectionClosed(kind: 'agent' | 'client', code: number): void {
    this.closes.inc({ kind, code: KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other' });
  }

  agentOnline(tenant: string): void {
    this.agentConnections.inc({ tenant: this.label(tenant) });
  }

  agentAuthFailed(tenant: string): void {
    this.agentAuthFailures.inc({ tenant: this.label(tenant) });
  }

  /** A client message went to the agent: its answer clock starts. */
  clientSent(session: Timed): void {
    const queue = this.waiting.get(session) ?? [];
    // Bounded: a session whose agent never answers is ended by the message timeout anyway.
    if (queue.length < 64) queue.push(performance.now());
    this.waiting.set(session, queue);
  }

  /** The agent answered: the oldest waiting message is served. */
  agentAnswered(session: Timed): void {
    const sent = this.waiting.get(session)?.shift();
    if (sent !== undefined) this.roundTrip.observe({ tenant: this.label(session.tenant.id) }, (performance.now() - sent) / 1000);
  }

  /** The text a scraper gets: this relay's metrics, then the process's. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processRegistry().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private label(tenant: string): string {
    return this.tenants.has(tenant) ? tenant : UNKNOWN_TENANT_LABEL;
  }
}

let processMetrics: Registry | undefined;

/** Node process metrics (CPU, memory, event loop), once per process whatever the number of relays. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
