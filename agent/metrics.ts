/**
 * The agent's Prometheus metrics, and the tiny HTTP server that serves them when
 * `metrics.listen` is configured (loopback by default: the numbers are for the operator's
 * scraper, not for the network).
 *
 * Each agent has its own Registry (tests run several in one process). Counts come from the
 * events the agent emits anyway (an EventLog sink), so no session code knows about metrics;
 * directory latency comes from a wrapper around the directory port. Labels only ever hold
 * values from small fixed sets (actions, error codes, method names): never a user.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isErrorCode } from '../protocol/errors.ts';
import type { EventFields, EventName } from './events.ts';

export interface AgentMetricsSources {
  /** Open sessions now. */
  sessions: () => number;
  /** The relay connection is up now. */
  relayConnected: () => boolean;
}

const OUTCOMES: Partial<Record<EventName, [action: string, success: boolean]>> = {
  PasswordResetSuccess: ['reset', true],
  PasswordResetFail: ['reset', false],
  ChangePasswordSuccess: ['change', true],
  ChangePasswordFail: ['change', false],
  UnlockSuccess: ['unlock', true],
  UnlockFail: ['unlock', false],
  GatePassed: ['gate', true],
  GateFailed: ['gate', false],
};
const METHOD = /^[a-z][a-z0-9_-]{0,31}$/;

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly started: Counter<'action'>;
  private readonly outcomes: Counter<'action' | 'code'>;
  private readonly blocked: Counter<'why'>;
  private readonly codesSent: Counter<'method' | 'result'>;
  private readonly reconnects: Counter;
  private readonly auditFailures: Counter;
  private readonly directory: Histogram<'operation' | 'result'>;
  private connectedBefore = false;

  constructor(sources: AgentMetricsSources) {
    const registers = [this.registry];
    this.started = new Counter({
      name: 'unlatch_agent_sessions_started_total',
      help: 'Sessions started, by action (reset, unlock, change).',
      labelNames: ['action'],
      registers,
    });
    this.outcomes = new Counter({
      name: 'unlatch_agent_outcomes_total',
      help: 'Outcomes of resets, changes, unlocks and identity checks (action="gate"), by error code ("OK" on success).',
      labelNames: ['action', 'code'],
      registers,
    });
    this.blocked = new Counter({
      name: 'unlatch_agent_self_service_blocked_total',
      help: 'Times a person\'s self-service was blocked, by why (failures, resets).',
      labelNames: ['why'],
      registers,
    });
    this.codesSent = new Counter({
      name: 'unlatch_agent_codes_sent_total',
      help: 'One-time codes handed to the mail server (result="sent") or refused by it (result="failed"), by method.',
      labelNames: ['method', 'result'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'unlatch_agent_relay_reconnects_total',
      help: 'Times the connection to the relay came back after the first one.',
      registers,
    });
    this.auditFailures = new Counter({
      name: 'unlatch_agent_audit_write_failures_total',
      help: 'Audit records that could not be written (see the agent log).',
      registers,
    });
    this.directory = new Histogram({
      name: 'unlatch_agent_directory_operation_seconds',
      help: 'Duration of directory operations (LDAP), by operation and result ("ok" or the error code).',
      labelNames: ['operation', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'unlatch_agent_sessions',
      help: 'Sessions open on this agent.',
      registers,
      collect() {
        this.set(sources.sessions());
      },
    });
    new Gauge({
      name: 'unlatch_agent_relay_connected',
      help: '1 when the connection to the relay is up, else 0.',
      registers,
      collect() {
        this.set(sources.relayConnected() ? 1 : 0);
      },
    });
  }

  /** An EventLog sink: counts what the events report. */
  onEvent(name: EventName, fields: EventFields): void {
    const outcome = OUTCOMES[name];
    if (outcome) {
      const [action, success] = outcome;
      const code = success ? 'OK' : action === 'gate' ? (fields['result'] === 'expired' ? 'GATE_EXPIRED' : 'GATE_FAILED') : codeLabel(fields['code']);
      this.outcomes.inc({ action, code });
      return;
    }
    switch (name) {
      case 'PasswordResetStart':
        this.started.inc({ action: fields['action'] === 'unlock' ? 'unlock' : 'reset' });
        return;
      case 'ChangePasswordStart':
        this.started.inc({ action: 'change' });
        return;
      case 'SelfServiceBlocked':
        this.blocked.inc({ why: fields['why'] === 'resets' ? 'resets' : 'failures' });
        return;
      case 'GateCodeSent':
      case 'GateCodeSendFail':
        this.codesSent.inc({ method: methodLabel(fields['method']), result: name === 'GateCodeSent' ? 'sent' : 'failed' });
        return;
      case 'RelayConnected':
        if (this.connectedBefore) this.reconnects.inc();
        this.connectedBefore = true;
        return;
      default:
    }
  }

  auditWriteFailed(): void {
    this.auditFailures.inc();
  }

  /** Wraps a directory port (or anything whose methods return promises) to time every call. */
  timeDirectory<T extends object>(port: T): T {
    const histogram = this.directory;
    return new Proxy(port, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return async (...args: unknown[]) => {
          const end = histogram.startTimer({ operation: prop });
          try {
            const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
            end({ result: 'ok' });
            return result;
          } catch (err) {
            end({ result: codeLabel((err as { code?: unknown } | null)?.code) });
            throw err;
          }
        };
      },
    });
  }

  /** The text a scraper gets: this agent's metrics, then the process's. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processRegistry().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function codeLabel(code: unknown): string {
  return isErrorCode(code) ? code : 'INTERNAL';
}

function methodLabel(method: unknown): string {
  return typeof method === 'string' && METHOD.test(method) ? method : 'other';
}

let processMetrics: Registry | undefined;

/** Node process metrics (CPU, memory, event loop), once per process whatever the number of agents. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics on `listen` (port 0: a free one). */
export function startMetricsServer(metrics: AgentMetrics, listen: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.text().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.name}\n`),
    );
  });
  // Longer than any scrape interval: a scraper reusing a connection the server just closed as
  // idle would otherwise see ECONNRESET (Node's default idle timeout is 5 s).
  server.keepAliveTimeout = 120_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      resolve({
        url: `http://${host}:${port}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
