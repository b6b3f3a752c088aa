/**
 * The relay's HTTP(S) server and WebSocket routing.
 *
 * Agents are authenticated in the HTTP `upgrade` handler, before a WebSocket exists; clients are
 * checked for origin and rate there too, then must solve a proof of work before anything of
 * theirs reaches an agent. After that the relay only moves envelopes: it validates them, never
 * looks inside `data`, and closes the one connection that misbehaves.
 */
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  FrameError,
  parseAgentFrame,
  parseClientFrame,
  TENANT_ID_PATTERN,
  type AgentFrame,
  type ClientFrame,
  type RelayErrorCode,
  type RelayToAgentFrame,
  type RelayToAgentMsgFrame,
  type RelayToClientFrame,
} from '../protocol/envelope.ts';
import { addressKey, remoteAddress } from './address.ts';
import { AgentRegistry } from './agents.ts';
import type { RelayConfig, RelayFiles } from './config.ts';
import { ConnectionCounter, KeyedBuckets, MAX_FRAME_BYTES, RateMeter } from './limits.ts';
import type { AgentLink, ClientLink, Link, Session } from './links.ts';
import { moduleLogger, sidPrefix, type Logger } from './log.ts';
import { RelayMetrics } from './metrics.ts';
import { difficultyFor, ProofOfWork, type PowFailure } from './pow.ts';
import { SessionTable, type ExpiryReason } from './sessions.ts';
import { originAllowed, TenantRegistry, type Tenant } from './tenants.ts';

/** Which way a frame crossed the relay, for `onFrame`. */
export type FrameDirection = 'from-client' | 'to-client' | 'from-agent' | 'to-agent';
/**
 * Sees the text of every frame the relay receives or sends (tests use it to prove the relay
 * never sees plaintext). Binary frames are refused before they get here. Must not throw; if it
 * does, the error is logged and ignored.
 */
export type FrameHook = (direction: FrameDirection, text: string, meta: { tenant: string; sid?: string }) => void;

export interface RelayStats {
  /** Open WebSocket connections of every kind. */
  connections: number;
  /** Agents that have said hello. */
  agents: number;
  clients: number;
  sessions: number;
  /** Solved PoW challenges remembered for single use. */
  powRemembered: number;
  tenants: Record<string, { agents: number; sessions: number }>;
}

export interface RelayServerOptions {
  config: RelayConfig;
  files: RelayFiles;
  logger: Logger;
  powKey: Uint8Array;
  onFrame?: FrameHook;
}

/** WebSocket close codes the relay uses. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
  /** The same agent id connected again; the older connection goes. */
  replaced: 4000,
} as const;

const ERROR_CLOSE: Record<RelayErrorCode, number> = {
  AGENT_OFFLINE: CLOSE_CODES.tryAgainLater,
  POW_INVALID: CLOSE_CODES.policy,
  RATE_LIMITED: CLOSE_CODES.tryAgainLater,
  SESSION_EXPIRED: CLOSE_CODES.normal,
  BAD_FRAME: CLOSE_CODES.policy,
  UNKNOWN_TENANT: CLOSE_CODES.policy,
};

const POW_MESSAGES: Record<PowFailure, string> = {
  malformed: 'the proof of work is malformed',
  forged: 'the proof-of-work challenge was not issued by this relay',
  'wrong-tenant': 'the proof-of-work challenge belongs to another tenant',
  expired: 'the proof-of-work challenge has expired; connect again',
  insufficient: 'the proof of work does not meet the difficulty',
  reused: 'the proof-of-work challenge was already used',
  full: 'the relay is too busy to accept new sessions',
};

export class RelayServer {
  readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly log: Logger;
  private readonly tenants: TenantRegistry;
  private readonly agents = new AgentRegistry();
  private readonly sessions: SessionTable;
  private readonly pow: ProofOfWork;
  private readonly links = new Set<Link>();
  private readonly connections: ConnectionCounter;
  private readonly clientConnBuckets: KeyedBuckets;
  private readonly agentConnBuckets: KeyedBuckets;
  private readonly tenantConnBuckets: KeyedBuckets;
  private readonly addressFrameBuckets: KeyedBuckets;
  private readonly tenantFrameBuckets: KeyedBuckets;
  private readonly tenantConnRates = new Map<string, RateMeter>();
  /** Undefined when `metrics.enabled` is false. */
  private readonly metrics: RelayMetrics | undefined;
  private heartbeatTimer?: NodeJS.Timeout;
  private closing?: Promise<void>;

  constructor(private readonly options: RelayServerOptions) {
    const { config } = options;
    this.log = moduleLogger(options.logger, 'server');
    this.tenants = new TenantRegistry(config.tenants);
    for (const id of this.tenants.ids()) this.tenantConnRates.set(id, new RateMeter());
    this.metrics = config.metrics.enabled ? new RelayMetrics(this.tenants.ids(), () => this.stats()) : undefined;
    this.pow = new ProofOfWork({ key: options.powKey, ttlMs: config.pow.ttlMs, maxRemembered: config.pow.maxRemembered });
    this.sessions = new SessionTable({
      lifetimeMs: config.timeouts.sessionLifetimeMs,
      messageTimeoutMs: config.timeouts.messageTimeoutMs,
      onExpire: (s, why) => this.guard(s.client, () => this.onSessionExpired(s, why)),
    });
    const l = config.limits;
    this.connections = new ConnectionCounter(l.maxConnections, l.maxConnectionsPerAddress);
    this.clientConnBuckets = new KeyedBuckets(l.connectionsPerAddress);
    // Agents often share the company's NAT address with its users; give them their own buckets
    // so a rush of users cannot lock the agent out.
    this.agentConnBuckets = new KeyedBuckets(l.connectionsPerAddress);
    this.tenantConnBuckets = new KeyedBuckets(l.connectionsPerTenant);
    this.addressFrameBuckets = new KeyedBuckets(l.framesPerAddress);
    this.tenantFrameBuckets = new KeyedBuckets(l.framesPerTenant);

    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
    this.wss.on('error', (err) => this.log.error({ err: err.message }, 'websocket server error'));
    const handler = (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res);
    this.http = options.files.tls ? createHttpsServer({ cert: options.files.tls.cert, key: options.files.tls.key }, handler) : createHttpServer(handler);
    // Scrapers and health checkers reuse connections; outlive their intervals (default is 5 s).
    this.http.keepAliveTimeout = 120_000;
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    const { host, port } = this.options.config.listen;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        this.http.on('error', (err) => this.log.error({ err: err.message }, 'server error'));
        this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.config.timeouts.heartbeatIntervalMs);
        this.heartbeatTimer.unref();
        resolve((this.http.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, closes every connection with 1001, and resolves when all are gone. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.heartbeatTimer);
      const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.sessions.clear();
      const open = [...this.links];
      for (const link of open) {
        clearTimeout(link.kind === 'client' ? link.openTimer : link.helloTimer);
        if (link.kind === 'client') link.state = 'closed';
        safeClose(link.ws, CLOSE_CODES.goingAway, 'relay shutting down');
      }
      await Promise.race([
        Promise.all(open.map((l) => new Promise<void>((r) => (l.ws.readyState === WebSocket.CLOSED ? r() : l.ws.once('close', () => r()))))),
        delay(2_000),
      ]);
      for (const link of this.links) link.ws.terminate();
      this.http.closeAllConnections();
      await stopped;
    })();
    return this.closing;
  }

  stats(): RelayStats {
    const tenants: RelayStats['tenants'] = {};
    for (const id of this.tenants.ids()) tenants[id] = { agents: this.agents.countFor(id), sessions: this.sessions.countFor(id) };
    let clients = 0;
    for (const link of this.links) if (link.kind === 'client') clients++;
    return {
      connections: this.links.size,
      agents: this.agents.size,
      clients,
      sessions: this.sessions.size,
      powRemembered: this.pow.remembered,
      tenants,
    };
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      const s = this.stats();
      const body = JSON.stringify({ status: 'ok', agents: s.agents, clients: s.clients });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const metrics = this.metrics;
    if (path === '/metrics' && metrics && (req.method === 'GET' || req.method === 'HEAD')) {
      metrics.text().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: Error) => {
          this.log.error({ err: err.message }, 'metrics failed');
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'metrics failed' }));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const onSocketError = (err: Error) => this.log.debug({ err: err.message }, 'socket error during upgrade');
    socket.on('error', onSocketError);
    try {
      if (this.closing) return rejectUpgrade(socket, 503, 'relay shutting down');
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://relay.invalid');
      } catch {
        return rejectUpgrade(socket, 400, 'bad request target');
      }
      const tenants = url.searchParams.getAll('tenant');
      const tenantId = tenants.length === 1 ? (tenants[0] as string) : '';
      const address = addressKey(remoteAddress(req, this.options.config.trustProxy));
      const accept = (onOpen: (ws: WebSocket) => void) =>
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', onSocketError);
          this.connections.add(address);
          ws.once('close', () => this.connections.remove(address));
          try {
            onOpen(ws);
          } catch (err) {
            this.log.error({ err: (err as Error).message }, 'connection setup failed');
            ws.terminate();
          }
        });

      if (url.pathname === '/v1/agent') {
        if (!TENANT_ID_PATTERN.test(tenantId)) return rejectUpgrade(socket, 400, 'query parameter "tenant" must be one valid tenant id');
        if (!this.agentConnBuckets.take(address)) return rejectUpgrade(socket, 429, 'too many connection attempts');
        const tenant = this.tenants.authenticate(tenantId, req.headers.authorization);
        if (!tenant) {
          this.log.warn({ tenant: tenantId, address }, 'agent authentication failed');
          this.metrics?.agentAuthFailed(tenantId);
          return rejectUpgrade(socket, 401, 'unauthorized', { 'WWW-Authenticate': 'Bearer' });
        }
        // An authenticated agent is exempt from the per-address cap (it shares the users' NAT),
        // not from the total.
        if (this.connections.check(address) === 'total') return rejectUpgrade(socket, 503, 'relay at capacity');
        // `from=1`: the agent understands the client address in "msg" frames (older agents would refuse it).
        const wantsFrom = url.searchParams.get('from') === '1';
        return accept((ws) => this.onAgentOpen(ws, tenant, address, wantsFrom));
      }

      if (url.pathname === '/v1/client') {
        const cap = this.connections.check(address);
        if (cap) return rejectUpgrade(socket, cap === 'total' ? 503 : 429, cap === 'total' ? 'relay at capacity' : 'too many connections');
        const tenant = this.tenants.get(tenantId);
        const origin = req.headers.origin;
        if (tenant && !originAllowed(tenant, origin)) {
          this.log.warn({ tenant: tenant.id, address, origin: origin?.slice(0, 100) }, 'client origin refused');
          return rejectUpgrade(socket, 403, 'origin not allowed');
        }
        // Rate-limited clients still get a WebSocket, to be told RATE_LIMITED: a browser
        // cannot read an HTTP status, and a person should see "wait a moment", not "offline".
        let limited = !this.clientConnBuckets.take(address);
        if (tenant) {
          this.tenantConnRates.get(tenant.id)?.record();
          limited = !this.tenantConnBuckets.take(tenant.id) || limited;
        }
        // Only a well-formed id goes into logs and limit keys.
        const shownId = TENANT_ID_PATTERN.test(tenantId) ? tenantId : '(invalid)';
        const peer = remoteAddress(req, this.options.config.trustProxy);
        return accept((ws) => this.onClientOpen(ws, shownId, tenant, address, limited, peer));
      }

      return rejectUpgrade(socket, 404, 'not found');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'upgrade handler failed');
      rejectUpgrade(socket, 500, 'internal error');
    }
  }

  // ---- common ---------------------------------------------------------------------------------

  private register(link: Link): void {
    this.links.add(link);
    this.metrics?.connectionOpened(link.kind);
    link.ws.on('close', (code: number) => this.metrics?.connectionClosed(link.kind, code));
    link.ws.on('pong', () => (link.alive = true));
    link.ws.on('error', (err: Error & { code?: string }) =>
      this.log.debug({ kind: link.kind, address: link.address, code: err.code }, 'connection error'),
    );
  }

  /** Runs a handler; an exception closes only this connection (1011). */
  private guard(link: Link, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ kind: link.kind, err: (err as Error).message }, 'handler failed; closing the connection');
      try {
        if (link.kind === 'agent') this.closeAgent(link, CLOSE_CODES.internal, 'internal error');
        else this.closeClient(link, CLOSE_CODES.internal, 'internal error');
      } catch {
        link.ws.terminate();
      }
    }
  }

  private hook(direction: FrameDirection, text: string, tenant: string, sid?: string): void {
    this.metrics?.frame(direction, tenant);
    const onFrame = this.options.onFrame;
    if (!onFrame) return;
    try {
      onFrame(direction, text, sid === undefined ? { tenant } : { tenant, sid });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'onFrame hook threw');
    }
  }

  private sendToClient(link: ClientLink, frame: RelayToClientFrame, sid?: string): void {
    if (link.ws.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(frame);
    this.hook('to-client', text, link.tenantId, sid);
    link.ws.send(text);
  }

  private sendToAgent(link: AgentLink, frame: RelayToAgentFrame): void {
    if (link.ws.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(frame);
    this.hook('to-agent', text, link.tenant.id, frame.sid);
    link.ws.send(text);
  }

  private heartbeat(): void {
    for (const link of [...this.links]) {
      if (!link.alive) {
        this.log.info({ kind: link.kind, address: link.address }, 'peer missed a pong; terminating');
        link.ws.terminate();
        continue;
      }
      link.alive = false;
      try {
        link.ws.ping();
      } catch {
        // Not open (closing); the close event cleans up.
      }
    }
  }

  // ---- clients ------------------------------------------------------------------------------

  private onClientOpen(ws: WebSocket, tenantId: string, tenant: Tenant | undefined, address: string, limited: boolean, peer: string): void {
    const link: ClientLink = { kind: 'client', ws, address, peer, tenantId, tenant, alive: true, closed: false, state: 'pow' };
    this.register(link);
    ws.on('message', (data: RawData, isBinary: boolean) => this.guard(link, () => this.onClientMessage(link, data, isBinary)));
    ws.on('close', () => this.guard(link, () => this.onClientClosed(link)));
    if (!tenant) return this.clientError(link, 'UNKNOWN_TENANT', 'this relay serves no such tenant');
    if (limited) return this.clientError(link, 'RATE_LIMITED', 'too many connections; wait a moment and try again');
    const { pow } = this.options.config;
    const difficulty = difficultyFor(
      { sessions: this.sessions.countFor(tenant.id), connectionsPerSecond: this.tenantConnRates.get(tenant.id)?.perSecond() ?? 0 },
      pow,
    );
    this.sendToClient(link, { t: 'pow', challenge: this.pow.issue(tenant.id, difficulty), difficulty });
    link.openTimer = setTimeout(
      () => this.guard(link, () => this.clientError(link, 'SESSION_EXPIRED', 'no proof of work arrived in time; connect again')),
      pow.ttlMs,
    );
    link.openTimer.unref();
  }

  private onClientMessage(link: ClientLink, data: RawData, isBinary: boolean): void {
    if (link.state === 'closed') return;
    if (!this.addressFrameBuckets.take(link.address) || !this.tenantFrameBuckets.take(link.tenantId)) {
      return this.clientError(link, 'RATE_LIMITED', 'too many messages; wait a moment and try again');
    }
    if (isBinary) return this.clientError(link, 'BAD_FRAME', 'binary frames are refused');
    const text = rawText(data);
    this.hook('from-client', text, link.tenantId, link.session?.sid);
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(text);
    } catch (err) {
      if (err instanceof FrameError) return this.clientError(link, 'BAD_FRAME', err.message);
      throw err;
    }
    if (link.state === 'pow') {
      if (frame.t !== 'open') return this.clientError(link, 'BAD_FRAME', 'the first frame must be "open"');
      return this.onClientOpenFrame(link, frame.challenge, frame.nonce);
    }
    if (frame.t !== 'msg') return this.clientError(link, 'BAD_FRAME', 'the session is already open');
    const session = link.session as Session;
    const first = !session.forwarded;
    if (first && frame.kid === undefined) return this.clientError(link, 'BAD_FRAME', 'the first "msg" must carry "kid" and "wk"');
    if (!first && frame.kid !== undefined) return this.clientError(link, 'BAD_FRAME', 'only the first "msg" carries "kid" and "wk"');
    const agent = session.agent;
    if (agent.closed || agent.ws.readyState !== WebSocket.OPEN) {
      return this.clientError(link, 'AGENT_OFFLINE', 'the agent serving this session went away; start again');
    }
    if (agent.ws.bufferedAmount > this.options.config.limits.maxBufferedBytes) {
      this.log.warn({ tenant: agent.tenant.id, agent: agent.agentId, sid: sidPrefix(session.sid) }, 'agent not keeping up; dropping a session');
      return this.clientError(link, 'AGENT_OFFLINE', 'the agent is overloaded; try again in a moment');
    }
    const out: RelayToAgentMsgFrame = { t: 'msg', sid: session.sid, data: frame.data };
    if (frame.kid !== undefined && frame.wk !== undefined) {
      out.kid = frame.kid;
      out.wk = frame.wk;
      if (agent.wantsFrom && isIP(link.peer)) out.from = link.peer;
    }
    this.sendToAgent(agent, out);
    session.forwarded = true;
    this.sessions.clientSent(session);
    this.metrics?.clientSent(session);
    this.log.debug({ tenant: link.tenantId, sid: sidPrefix(session.sid), bytes: frame.data.length }, 'client → agent');
  }

  private onClientOpenFrame(link: ClientLink, challenge: string, nonce: string): void {
    const tenant = link.tenant as Tenant;
    const result = this.pow.verify(tenant.id, challenge, nonce);
    if (!result.ok) {
      this.log.info({ tenant: tenant.id, address: link.address, reason: result.reason }, 'proof of work refused');
      return this.clientError(link, result.reason === 'full' ? 'RATE_LIMITED' : 'POW_INVALID', POW_MESSAGES[result.reason]);
    }
    clearTimeout(link.openTimer);
    const agent = this.agents.pick(tenant.id);
    if (!agent?.bundle) return this.clientError(link, 'AGENT_OFFLINE', 'no agent of this tenant is online');
    if (this.sessions.countFor(tenant.id) >= this.options.config.limits.maxSessionsPerTenant) {
      return this.clientError(link, 'RATE_LIMITED', 'too many open sessions for this tenant; try again in a moment');
    }
    const session = this.sessions.open(tenant, link, agent);
    link.session = session;
    link.state = 'open';
    this.metrics?.sessionOpened(tenant.id);
    this.sendToClient(link, { t: 'opened', sid: session.sid, bundle: agent.bundle }, session.sid);
    this.log.info({ tenant: tenant.id, agent: agent.agentId, sid: sidPrefix(session.sid) }, 'session opened');
  }

  /** Sends an error frame, then closes the client (the relay always closes after an error). */
  private clientError(link: ClientLink, code: RelayErrorCode, message: string): void {
    if (link.state === 'closed') return;
    this.metrics?.relayError(link.tenantId, code);
    this.sendToClient(link, { t: 'error', code, message }, link.session?.sid);
    this.log.info({ tenant: link.tenantId, sid: sidPrefix(link.session?.sid), code }, 'client error');
    this.closeClient(link, ERROR_CLOSE[code], code);
  }

  private closeClient(link: ClientLink, code: number, reason: string): void {
    link.state = 'closed';
    clearTimeout(link.openTimer);
    if (link.session) this.endSession(link.session, true);
    safeClose(link.ws, code, reason);
  }

  private onClientClosed(link: ClientLink): void {
    link.closed = true;
    link.state = 'closed';
    clearTimeout(link.openTimer);
    this.links.delete(link);
    if (link.session) this.endSession(link.session, true);
  }

  /** Removes a session; tells the agent when it has heard of the session. Idempotent. */
  private endSession(session: Session, tellAgent: boolean): void {
    if (session.ended) return;
    this.sessions.end(session);
    if (tellAgent && session.forwarded && !session.agent.closed) this.sendToAgent(session.agent, { t: 'close', sid: session.sid });
    this.log.debug({ tenant: session.tenant.id, sid: sidPrefix(session.sid) }, 'session ended');
  }

  private onSessionExpired(session: Session, why: ExpiryReason): void {
    if (session.forwarded && !session.agent.closed) this.sendToAgent(session.agent, { t: 'close', sid: session.sid });
    this.clientError(
      session.client,
      'SESSION_EXPIRED',
      why === 'lifetime' ? 'the session reached its time limit; start again' : 'the agent did not answer in time; start again',
    );
  }

  // ---- agents -------------------------------------------------------------------------------

  private onAgentOpen(ws: WebSocket, tenant: Tenant, address: string, wantsFrom = false): void {
    const link: AgentLink = { kind: 'agent', ws, address, tenant, alive: true, closed: false, sessions: new Set(), wantsFrom };
    this.register(link);
    ws.on('message', (data: RawData, isBinary: boolean) => this.guard(link, () => this.onAgentMessage(link, data, isBinary)));
    ws.on('close', (code: number) => this.guard(link, () => this.onAgentClosed(link, code)));
    link.helloTimer = setTimeout(
      () => this.guard(link, () => this.closeAgent(link, CLOSE_CODES.policy, 'no "hello" in time')),
      this.options.config.timeouts.helloTimeoutMs,
    );
    link.helloTimer.unref();
    this.log.info({ tenant: tenant.id, address }, 'agent connected');
  }

  private onAgentMessage(link: AgentLink, data: RawData, isBinary: boolean): void {
    if (link.closed) return;
    if (isBinary) return this.closeAgent(link, CLOSE_CODES.policy, 'binary frames are refused');
    const text = rawText(data);
    this.hook('from-agent', text, link.tenant.id);
    let frame: AgentFrame;
    try {
      frame = parseAgentFrame(text);
    } catch (err) {
      if (err instanceof FrameError) {
        this.log.warn({ tenant: link.tenant.id, agent: link.agentId, problem: err.message }, 'bad frame from agent');
        return this.closeAgent(link, CLOSE_CODES.policy, err.message);
      }
      throw err;
    }
    if (link.agentId === undefined) {
      if (frame.t !== 'hello') return this.closeAgent(link, CLOSE_CODES.policy, 'the first frame must be "hello"');
      clearTimeout(link.helloTimer);
      link.agentId = frame.agent;
      link.bundle = frame.bundle;
      const older = this.agents.add(link);
      this.metrics?.agentOnline(link.tenant.id);
      if (older) this.closeAgent(older, CLOSE_CODES.replaced, 'replaced by a newer connection of this agent');
      this.log.info({ tenant: link.tenant.id, agent: link.agentId }, 'agent online');
      return;
    }
    switch (frame.t) {
      case 'hello':
        return this.closeAgent(link, CLOSE_CODES.policy, '"hello" was already sent');
      case 'bundle':
        link.bundle = frame.bundle;
        this.log.info({ tenant: link.tenant.id, agent: link.agentId }, 'agent bundle updated');
        return;
      case 'msg': {
        const session = this.sessions.get(frame.sid);
        // Same answer for "no such session" and "not yours": an agent learns nothing about
        // other agents' or tenants' sessions.
        if (!session || session.agent !== link) return this.sendToAgent(link, { t: 'close', sid: frame.sid });
        const client = session.client;
        if (client.ws.bufferedAmount > this.options.config.limits.maxBufferedBytes) {
          this.log.warn({ tenant: link.tenant.id, sid: sidPrefix(session.sid) }, 'client not reading; dropping it');
          this.endSession(session, true);
          client.state = 'closed';
          client.ws.terminate();
          return;
        }
        this.sendToClient(client, { t: 'msg', data: frame.data }, session.sid);
        this.sessions.agentAnswered(session);
        this.metrics?.agentAnswered(session);
        this.log.debug({ tenant: link.tenant.id, sid: sidPrefix(session.sid), bytes: frame.data.length }, 'agent → client');
        return;
      }
      case 'close': {
        const session = this.sessions.get(frame.sid);
        if (!session || session.agent !== link) return;
        this.endSession(session, false);
        this.closeClient(session.client, CLOSE_CODES.normal, 'session closed by the agent');
        return;
      }
    }
  }

  /** Closes an agent and answers AGENT_OFFLINE to every session it served. */
  private closeAgent(link: AgentLink, code: number, reason: string): void {
    this.dropAgent(link);
    safeClose(link.ws, code, reason);
  }

  private onAgentClosed(link: AgentLink, code: number): void {
    if (!link.closed) this.log.info({ tenant: link.tenant.id, agent: link.agentId, code }, 'agent disconnected');
    this.dropAgent(link);
    this.links.delete(link);
  }

  private dropAgent(link: AgentLink): void {
    if (link.closed) return;
    link.closed = true;
    clearTimeout(link.helloTimer);
    this.agents.remove(link);
    for (const session of [...link.sessions]) {
      this.endSession(session, false);
      this.clientError(session.client, 'AGENT_OFFLINE', 'the agent serving this session went away; start again');
    }
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    // A close reason is at most 123 bytes.
    ws.close(code, Buffer.from(reason).subarray(0, 120).toString('utf8').replace(/\uFFFD$/, ''));
  } catch {
    ws.terminate();
  }
}

/** Answers an upgrade request with an HTTP error; the WebSocket never exists. */
function rejectUpgrade(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${text}\n`;
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
