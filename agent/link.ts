/**
 * The agent's one connection to the relay: outbound only (no inbound firewall port), with the
 * tenant secret in the upgrade request, a jittered exponential reconnect, and a watchdog that
 * drops a connection whose heartbeat stopped (a proxy that silently ate it).
 */
import WebSocket from 'ws';
import { parseRelayToAgentFrame, type AgentFrame, type RelayToAgentFrame, type SignedBundle } from '../protocol/envelope.ts';
import type { EventLog } from './events.ts';

export interface RelayLinkOptions {
  url: string;
  tenant: string;
  agentId: string;
  secret: string;
  ca?: string | undefined;
  bundle: () => Promise<SignedBundle>;
  onFrame: (frame: RelayToAgentFrame) => void;
  onDisconnect?: () => void;
  events: EventLog;
  reconnectMaxMs: number;
  /** No ping or frame from the relay for this long → reconnect. Default 90 s (relay pings ≤ 60 s). */
  idleTimeoutMs?: number;
}

export class RelayLink {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private connectedOnce: (() => void) | undefined;
  readonly connected: Promise<void>;

  constructor(private readonly options: RelayLinkOptions) {
    this.connected = new Promise((resolve) => (this.connectedOnce = resolve));
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  send(frame: AgentFrame): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** Publishes a new bundle (after a key rollover) on the live connection. */
  async publishBundle(): Promise<void> {
    this.send({ t: 'bundle', bundle: await this.options.bundle() });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.idleTimer);
    this.ws?.terminate();
    this.ws = undefined;
  }

  private connect(): void {
    const { url, tenant, secret, ca } = this.options;
    // from=1: this agent understands the client address the relay adds to a session's first message.
    const ws = new WebSocket(`${url.replace(/\/+$/, '')}/v1/agent?tenant=${encodeURIComponent(tenant)}&from=1`, {
      headers: { authorization: `Bearer ${secret}` },
      perMessageDeflate: false,
      maxPayload: 64 * 1024,
      handshakeTimeout: 10_000,
      ...(ca ? { ca } : {}),
    });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      if (res.statusCode === 401 || res.statusCode === 403) {
        this.options.events.emit('RelayAuthFailed', { status: res.statusCode, relay: url }, 'The relay refused the tenant secret');
      }
      ws.terminate();
    });
    ws.on('open', () => {
      this.attempt = 0;
      this.armIdle();
      void this.options.bundle().then((bundle) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify({ t: 'hello', agent: this.options.agentId, bundle }));
        this.options.events.emit('RelayConnected', { relay: url });
        this.connectedOnce?.();
      });
    });
    ws.on('ping', () => this.armIdle());
    ws.on('message', (data, isBinary) => {
      this.armIdle();
      if (isBinary) return;
      let frame: RelayToAgentFrame;
      try {
        frame = parseRelayToAgentFrame(data.toString());
      } catch {
        return; // A relay that sends garbage gets ignored, not obeyed.
      }
      this.options.onFrame(frame);
    });
    ws.on('error', () => {
      // 'close' follows; the reconnect happens there.
    });
    ws.on('close', () => {
      clearTimeout(this.idleTimer);
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.options.onDisconnect?.();
      if (this.stopped) return;
      this.options.events.emit('RelayDisconnected', { relay: url, attempt: this.attempt });
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    // Full jitter: a fleet of agents restarting together doesn't hammer the relay in step.
    const ceiling = Math.min(this.options.reconnectMaxMs, 250 * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.ws?.terminate(), this.options.idleTimeoutMs ?? 90_000);
  }
}
