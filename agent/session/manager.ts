/**
 * The sessions this agent holds: unwraps each session key, opens and seals every message in
 * order, and hands validated messages to the session's state machine. A frame that fails to
 * open ends its session and nothing else.
 */
import { fromBase64Url } from '../../protocol/bytes.ts';
import { SealedChannel } from '../../protocol/channel.ts';
import { importAesKey, label, rsaOaepDecrypt } from '../../protocol/crypto.ts';
import type { AgentFrame, RelayToAgentFrame, RelayToAgentMsgFrame } from '../../protocol/envelope.ts';
import { ERROR_CODES, UnlatchError } from '../../protocol/errors.ts';
import { parseClientMessage, type AgentMessage } from '../../protocol/messages.ts';
import { decryptPassword } from '../../protocol/password.ts';
import type { EventLog } from '../events.ts';
import type { KeyRing } from '../keys.ts';
import { SessionFlow, type FlowDeps } from './flow.ts';

export interface SessionManagerOptions {
  tenant: string;
  keys: KeyRing;
  flow: FlowDeps;
  events: EventLog;
  send: (frame: AgentFrame) => void;
  lifetimeMs: number;
  max: number;
  now?: () => number;
}

interface Session {
  channel: SealedChannel;
  flow: SessionFlow;
  expires: number;
  /** Messages of one session are handled one after another, in arrival order. */
  chain: Promise<void>;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly options: SessionManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Entry point for every frame the relay delivers. Never throws. */
  onFrame(frame: RelayToAgentFrame): Promise<void> {
    if (frame.t === 'close') {
      this.sessions.delete(frame.sid);
      return Promise.resolve();
    }
    const existing = this.sessions.get(frame.sid);
    if (existing) {
      if (frame.wk !== undefined) return Promise.resolve(this.end(frame.sid, 'key sent twice'));
      existing.chain = existing.chain.then(() => this.process(frame.sid, existing, frame.data));
      return existing.chain;
    }
    return this.create(frame);
  }

  /** Drops sessions past their lifetime; the relay hears that they are closed. */
  sweep(): void {
    const now = this.now();
    for (const [sid, s] of this.sessions) if (s.expires <= now) this.end(sid, 'expired');
  }

  closeAll(): void {
    this.sessions.clear();
  }

  private async create(frame: RelayToAgentMsgFrame): Promise<void> {
    const { tenant, keys } = this.options;
    if (frame.kid === undefined || frame.wk === undefined) return this.end(frame.sid, 'no session key');
    if (this.sessions.size >= this.options.max) return this.end(frame.sid, 'too many sessions');
    const kid = frame.kid;
    let channel: SealedChannel;
    try {
      const raw = await rsaOaepDecrypt(keys.privateKey(kid), fromBase64Url(frame.wk), label('session', tenant, frame.sid));
      channel = new SealedChannel(await importAesKey(raw), tenant, frame.sid, 'agent');
      raw.fill(0);
    } catch {
      return this.end(frame.sid, 'session key rejected');
    }
    const flow = new SessionFlow(
      this.options.flow,
      (field, sealed) => decryptPassword(keys.privateKey(kid), frame.sid, field, sealed),
      frame.sid,
      frame.from,
    );
    const session: Session = { channel, flow, expires: this.now() + this.options.lifetimeMs, chain: Promise.resolve() };
    this.sessions.set(frame.sid, session);
    session.chain = this.process(frame.sid, session, frame.data);
    return session.chain;
  }

  private async process(sid: string, session: Session, data: string): Promise<void> {
    if (this.sessions.get(sid) !== session) return;
    let plain: unknown;
    try {
      plain = await session.channel.open(data);
    } catch {
      return this.end(sid, 'frame failed to open');
    }
    let answer: AgentMessage;
    try {
      answer = await session.flow.handle(parseClientMessage(plain));
    } catch (err) {
      answer =
        err instanceof UnlatchError
          ? { op: 'error', code: err.code, message: err.message }
          : { op: 'error', code: 'INTERNAL', message: ERROR_CODES.INTERNAL };
    }
    if (this.sessions.get(sid) !== session) return;
    this.options.send({ t: 'msg', sid, data: await session.channel.seal(answer) });
    session.flow.runDeferred();
  }

  private end(sid: string, why: string): void {
    this.sessions.delete(sid);
    this.options.events.emit('SessionRejected', { sid, why });
    this.options.send({ t: 'close', sid });
  }
}
