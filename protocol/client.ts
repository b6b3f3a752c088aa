/**
 * The client side of a session, shared by the browser extension and `unlatch-client`:
 * connect to the relay, solve its proof of work, verify the agent's key bundle against the
 * pinned signing key, wrap a fresh session key, then exchange sealed messages in lock-step.
 */
import { randomBytes, toBase64Url } from './bytes.ts';
import { BundleError, verifyBundle, type VerifiedKey } from './bundle.ts';
import { SealedChannel } from './channel.ts';
import { AES_KEY_BYTES, CryptoError, importAesKey, label, rsaOaepEncrypt } from './crypto.ts';
import { parseRelayToClientFrame, type RelayToClientFrame } from './envelope.ts';
import { isErrorCode, UnlatchError } from './errors.ts';
import { parseAgentMessage, type AgentMessage, type ClientMessage } from './messages.ts';
import { encryptPassword, type PasswordField } from './password.ts';
import { solvePow } from './pow.ts';

/** The part of the WHATWG WebSocket API we use; `ws` in Node and the browser's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface ClientOptions {
  /** ws:// or wss:// base URL of the relay, e.g. wss://relay.example.com */
  relayUrl: string;
  tenant: string;
  /**
   * base64url SHA-256 of the agent's signing key SPKI, from admin policy; during a signing-key
   * rollover, the current and the next pin (either is accepted).
   */
  pin: string | readonly (string | undefined)[] | undefined;
  /** Defaults to the global WebSocket (browsers); Node callers pass one built on `ws`. */
  connect?: WebSocketFactory;
  /** Proof-of-work progress, 0..1, for a visible progress bar. */
  onProgress?: (fraction: number) => void;
  /** How long to wait for any single answer. Default 30 s. */
  timeoutMs?: number;
}

type Waiter = { resolve: (frame: RelayToClientFrame) => void; reject: (err: Error) => void };

export class ClientSession {
  private constructor(
    private readonly ws: WebSocketLike,
    private readonly inbox: FrameInbox,
    readonly sid: string,
    private readonly channel: SealedChannel,
    private readonly agentKey: VerifiedKey,
    private readonly timeoutMs: number,
    private wrapped: { kid: string; wk: string } | undefined,
  ) {}

  static async open(options: ClientOptions): Promise<ClientSession> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const connect = options.connect ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
    const url = `${options.relayUrl.replace(/\/+$/, '')}/v1/client?tenant=${encodeURIComponent(options.tenant)}`;
    const ws = connect(url);
    const inbox = new FrameInbox(ws);
    try {
      const pow = await inbox.next(timeoutMs);
      if (pow.t !== 'pow') throw protocolError();
      const nonce = await solvePow(pow.challenge, pow.difficulty, options.onProgress);
      ws.send(JSON.stringify({ t: 'open', challenge: pow.challenge, nonce }));
      const opened = await inbox.next(timeoutMs);
      if (opened.t !== 'opened') throw protocolError();
      let keys: VerifiedKey[];
      try {
        keys = await verifyBundle(opened.bundle, { pin: options.pin, tenant: options.tenant });
      } catch (err) {
        if (err instanceof BundleError) throw new UnlatchError(err.code, err.message, undefined, { cause: err });
        throw err;
      }
      const agentKey = keys[0] as VerifiedKey;
      const raw = randomBytes(AES_KEY_BYTES);
      const sessionKey = await importAesKey(raw);
      const wk = toBase64Url(await rsaOaepEncrypt(agentKey.key, raw, label('session', options.tenant, opened.sid)));
      raw.fill(0);
      const channel = new SealedChannel(sessionKey, options.tenant, opened.sid, 'client');
      return new ClientSession(ws, inbox, opened.sid, channel, agentKey, timeoutMs, { kid: agentKey.kid, wk });
    } catch (err) {
      ws.close(1000);
      throw err;
    }
  }

  /** The agent encryption key this session's key was wrapped to (diagnostics, rollover tests). */
  get keyId(): string {
    return this.agentKey.kid;
  }

  /** Sends one request and waits for the agent's answer. Relay failures throw UnlatchError. */
  async request(message: ClientMessage): Promise<AgentMessage> {
    const data = await this.channel.seal(message);
    const frame = this.wrapped ? { t: 'msg', data, ...this.wrapped } : { t: 'msg', data };
    this.wrapped = undefined;
    this.ws.send(JSON.stringify(frame));
    const answer = await this.inbox.next(this.timeoutMs);
    if (answer.t !== 'msg') throw protocolError();
    try {
      return parseAgentMessage(await this.channel.open(answer.data));
    } catch (err) {
      this.close();
      if (err instanceof CryptoError) throw new UnlatchError('PROTOCOL_ERROR', undefined, undefined, { cause: err });
      throw err;
    }
  }

  /** Seals a password for the agent (password layer), bound to this session and field. */
  sealPassword(field: PasswordField, password: string): Promise<string> {
    return encryptPassword(this.agentKey.key, this.sid, field, password);
  }

  close(): void {
    this.inbox.fail(new UnlatchError('SESSION_EXPIRED', 'The session was closed.'));
    try {
      this.ws.close(1000);
    } catch {
      // Already closed.
    }
  }
}

function protocolError(): UnlatchError {
  return new UnlatchError('PROTOCOL_ERROR');
}

/** Turns WebSocket callbacks into awaited frames; a relay `error` frame rejects the waiter. */
class FrameInbox {
  private readonly queue: RelayToClientFrame[] = [];
  private waiter: Waiter | undefined;
  private failure: Error | undefined;

  constructor(ws: WebSocketLike) {
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return this.fail(protocolError());
      let frame: RelayToClientFrame;
      try {
        frame = parseRelayToClientFrame(ev.data);
      } catch {
        return this.fail(protocolError());
      }
      if (frame.t === 'error') {
        const code = isErrorCode(frame.code) ? frame.code : 'PROTOCOL_ERROR';
        return this.fail(new UnlatchError(code));
      }
      this.push(frame);
    };
    ws.onclose = () => this.fail(new UnlatchError('AGENT_OFFLINE', 'The connection to the password service was closed.'));
    ws.onerror = () => this.fail(new UnlatchError('AGENT_OFFLINE', 'The password service could not be reached.'));
  }

  next(timeoutMs: number): Promise<RelayToClientFrame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new UnlatchError('AGENT_OFFLINE', 'The password service did not answer in time.'));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  fail(err: Error): void {
    // The first failure is the real one; a close that follows an error frame must not mask it.
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  private push(frame: RelayToClientFrame): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve(frame);
    else this.queue.push(frame);
  }
}
