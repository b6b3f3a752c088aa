/**
 * One person's session, as a state machine: identify → gates → action. The agent's own state
 * decides what is allowed; nothing the client claims about itself is believed.
 *
 *   new ──start──► challenged ──(all gates passed)──► reset | unlock ──► done
 *                       └──────── change (old password proves identity) ──► done
 *
 * People we can't help (unknown, out of scope, no contact data) walk the same path with decoy
 * gates that can never be passed, so every answer has the same shape as a real one.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ERROR_CODES, isErrorCode, POLICY_REASON_MESSAGES, UnlatchError, type PolicyReason } from '../../protocol/errors.ts';
import type { Action, AgentMessage, ClientMessage, GateView, PasswordPolicyView } from '../../protocol/messages.ts';
import type { PasswordField } from '../../protocol/password.ts';
import type { EventLog, EventName } from '../events.ts';
import type { OneTimeCodes } from '../gates/codes.ts';
import { decoyEmailHint } from '../gates/decoy.ts';
import { maskEmail } from '../gates/mask.ts';
import type { Throttle } from '../gates/throttle.ts';
import type { DirectoryPort, SessionUser } from './ports.ts';

export interface FlowSettings {
  actions: { reset: boolean; unlock: boolean; change: boolean };
  requiredGates: number;
  codeTtlMinutes: number;
  resendAfterSeconds: number;
  mailDomain: string;
}

export interface FlowDeps {
  directory: DirectoryPort;
  codes: OneTimeCodes;
  throttle: Throttle;
  sendCode: (to: string, code: string, ttlMinutes: number) => Promise<void>;
  events: EventLog;
  /** Keys the decoy hints and the throttle subject of unknown ids. */
  decoyKey: Buffer;
  settings: FlowSettings;
  now?: () => number;
}

interface Gate extends GateView {
  /** Where the code goes; undefined for a decoy. */
  address: string | undefined;
  lastSent: number;
  sent: boolean;
}

type State =
  | { name: 'new' }
  | { name: 'challenged'; action: Action; user: SessionUser | null; subject: string; gates: Gate[]; passed: Set<string>; policy: PasswordPolicyView }
  | { name: 'done' };

export class SessionFlow {
  private state: State = { name: 'new' };
  private readonly now: () => number;

  constructor(
    private readonly deps: FlowDeps,
    /** Opens a password-layer ciphertext of this session. */
    private readonly openPassword: (field: PasswordField, sealed: string) => Promise<string>,
    private readonly sid: string,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Handles one validated message; always resolves to the answer to send. */
  async handle(message: ClientMessage): Promise<AgentMessage> {
    try {
      switch (message.op) {
        case 'start':
          return await this.start(message.action, message.user);
        case 'gate.send':
          return this.send(message.gate);
        case 'gate.verify':
          return this.verify(message.gate, message.code);
        case 'reset':
          return await this.act('reset', (user) => this.withPassword('newPassword', message.newPassword, (pw) => this.deps.directory.reset(user, pw)));
        case 'unlock':
          return await this.act('unlock', (user) => this.deps.directory.unlock(user));
        case 'change':
          return await this.change(message.oldPassword, message.newPassword);
      }
    } catch (err) {
      return this.failure(err);
    }
  }

  private async start(action: Action, userId: string): Promise<AgentMessage> {
    if (this.state.name !== 'new') throw new UnlatchError('BAD_REQUEST', 'This session has already started.');
    if (!this.deps.settings.actions[action]) throw new UnlatchError('NOT_ALLOWED');
    const found = await this.deps.directory.findUser(userId);
    const user = found && found.inScope ? found : null;
    const policy = await this.deps.directory.policyFor(user);
    const subject = user ? `dn:${user.dn.toLowerCase()}` : `id:${this.keyed(userId)}`;
    if (this.deps.throttle.isBlocked(subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const gates = action === 'change' ? [] : [this.emailGate(user, userId)];
    const required = action === 'change' ? 0 : this.deps.settings.requiredGates;
    this.state = { name: 'challenged', action, user, subject, gates, passed: new Set(), policy };
    const event: EventName = action === 'change' ? 'ChangePasswordStart' : 'PasswordResetStart';
    this.deps.events.emit(event, { sid: this.sid, action, user: user?.dn, known: user !== null });
    return { op: 'challenge', action, gates: gates.map(publicGate), required, passed: [], policy };
  }

  private emailGate(user: SessionUser | null, userId: string): Gate {
    const address = user?.mail[0];
    const hint = address ? maskEmail(address) : decoyEmailHint(this.deps.decoyKey, userId, this.deps.settings.mailDomain);
    return { id: randomBytes(9).toString('base64url'), method: 'email', hint, address, lastSent: 0, sent: false };
  }

  private send(gateId: string): AgentMessage {
    const s = this.challenged();
    const gate = this.gate(s, gateId);
    if (this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const wait = gate.lastSent + this.deps.settings.resendAfterSeconds * 1000 - this.now();
    if (wait > 0) throw new UnlatchError('RATE_LIMITED', `Please wait ${Math.ceil(wait / 1000)} seconds before asking for a new code.`);
    gate.lastSent = this.now();
    gate.sent = true;
    if (gate.address) {
      const code = this.deps.codes.issue(`${s.subject}|${gate.method}`);
      const to = gate.address;
      // Not awaited: the answer must not take longer for a real address than for a decoy.
      this.deps.sendCode(to, code, this.deps.settings.codeTtlMinutes).then(
        () => this.deps.events.emit('GateCodeSent', { sid: this.sid, user: s.user?.dn, method: gate.method }),
        (err: Error) =>
          this.deps.events.emit('GateCodeSendFail', { sid: this.sid, user: s.user?.dn, method: gate.method, error: err.message }),
      );
    }
    return { op: 'gate.sent', gate: gate.id, resendAfter: this.deps.settings.resendAfterSeconds };
  }

  private verify(gateId: string, code: string): AgentMessage {
    const s = this.challenged();
    const gate = this.gate(s, gateId);
    if (this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    if (s.passed.has(gate.id)) throw new UnlatchError('BAD_REQUEST', 'This check is already passed.');
    // A decoy behaves like a real gate whose code was never right: expired before a send, wrong after.
    const result = gate.address ? this.deps.codes.check(`${s.subject}|${gate.method}`, code) : gate.sent ? 'wrong' : 'expired';
    if (result === 'ok') {
      s.passed.add(gate.id);
      this.deps.events.emit('GatePassed', { sid: this.sid, user: s.user?.dn, method: gate.method });
      return { op: 'gate.passed', gate: gate.id, remaining: Math.max(0, this.required(s) - s.passed.size) };
    }
    const blocked = this.deps.throttle.recordFailure(s.subject);
    this.deps.events.emit('GateFailed', { sid: this.sid, user: s.user?.dn, method: gate.method, result });
    if (blocked) this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: s.user?.dn, why: 'failures' });
    throw new UnlatchError(result === 'expired' ? 'GATE_EXPIRED' : 'GATE_FAILED');
  }

  /** Reset or unlock: only for the person the gates were passed for, only once they all are. */
  private async act(action: 'reset' | 'unlock', write: (user: SessionUser) => Promise<void>): Promise<AgentMessage> {
    const s = this.challenged();
    if (s.action !== action) throw new UnlatchError('BAD_REQUEST', `This session was started for "${s.action}".`);
    if (!s.user || s.passed.size < this.required(s) || s.gates.some((g) => !g.address)) throw new UnlatchError('GATES_REQUIRED');
    if (this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const user = s.user;
    const [ok, fail]: [EventName, EventName] = action === 'reset' ? ['PasswordResetSuccess', 'PasswordResetFail'] : ['UnlockSuccess', 'UnlockFail'];
    try {
      if (user.protected) throw new UnlatchError('USER_PROTECTED');
      if (user.disabled) throw new UnlatchError('ACCOUNT_DISABLED');
      await write(user);
    } catch (err) {
      this.deps.events.emit(fail, { sid: this.sid, user: user.dn, code: codeOf(err), reason: reasonOf(err) });
      throw err;
    }
    this.deps.events.emit(ok, { sid: this.sid, user: user.dn });
    if (this.deps.throttle.recordReset(s.subject)) this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: user.dn, why: 'resets' });
    this.state = { name: 'done' };
    return { op: 'done', action };
  }

  private async change(oldSealed: string, newSealed: string): Promise<AgentMessage> {
    const s = this.challenged();
    if (s.action !== 'change') throw new UnlatchError('BAD_REQUEST', `This session was started for "${s.action}".`);
    if (this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const user = s.user;
    try {
      await this.withPassword('oldPassword', oldSealed, async (oldPassword) => {
        if (!user) throw new UnlatchError('INVALID_CREDENTIALS');
        // Say why we refuse only to someone who proved they know the password.
        if (user.protected || user.disabled) {
          if (!(await this.deps.directory.verifyPassword(user, oldPassword))) throw new UnlatchError('INVALID_CREDENTIALS');
          throw new UnlatchError(user.protected ? 'USER_PROTECTED' : 'ACCOUNT_DISABLED');
        }
        await this.withPassword('newPassword', newSealed, (newPassword) => this.deps.directory.change(user, oldPassword, newPassword));
      });
    } catch (err) {
      if (codeOf(err) === 'INVALID_CREDENTIALS' && this.deps.throttle.recordFailure(s.subject)) {
        this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: user?.dn, why: 'failures' });
      }
      this.deps.events.emit('ChangePasswordFail', { sid: this.sid, user: user?.dn, code: codeOf(err), reason: reasonOf(err) });
      throw err;
    }
    this.deps.events.emit('ChangePasswordSuccess', { sid: this.sid, user: user?.dn });
    this.state = { name: 'done' };
    return { op: 'done', action: 'change' };
  }

  private async withPassword<T>(field: PasswordField, sealed: string, use: (password: string) => Promise<T>): Promise<T> {
    let password: string;
    try {
      password = await this.openPassword(field, sealed);
    } catch (err) {
      throw new UnlatchError('PROTOCOL_ERROR', undefined, undefined, { cause: err });
    }
    return use(password);
  }

  private challenged(): Extract<State, { name: 'challenged' }> {
    if (this.state.name === 'challenged') return this.state;
    throw new UnlatchError('BAD_REQUEST', this.state.name === 'new' ? 'Start the session first.' : 'This session is finished.');
  }

  private gate(s: Extract<State, { name: 'challenged' }>, id: string): Gate {
    const gate = s.gates.find((g) => g.id === id);
    if (!gate) throw new UnlatchError('BAD_REQUEST', 'Unknown check.');
    return gate;
  }

  private required(s: Extract<State, { name: 'challenged' }>): number {
    return s.action === 'change' ? 0 : this.deps.settings.requiredGates;
  }

  private keyed(userId: string): string {
    return createHmac('sha256', this.deps.decoyKey).update(userId.trim().toLowerCase()).digest('base64url');
  }

  private failure(err: unknown): AgentMessage {
    if (err instanceof UnlatchError || (err instanceof Error && isErrorCode((err as { code?: unknown }).code))) {
      const code = (err as UnlatchError).code;
      const reason = reasonOf(err);
      if (code === 'DIRECTORY_UNAVAILABLE') this.deps.events.emit('DirectoryUnavailable', { sid: this.sid, detail: detailOf(err) });
      if (code === 'ACCESS_DENIED') this.deps.events.emit('DirectoryAccessDenied', { sid: this.sid, detail: detailOf(err) });
      const message =
        err instanceof UnlatchError ? err.message : code === 'POLICY_VIOLATION' && reason ? POLICY_REASON_MESSAGES[reason] : ERROR_CODES[code];
      return { op: 'error', code, ...(reason ? { reason } : {}), message };
    }
    this.deps.events.emit('InternalError', { sid: this.sid, error: err instanceof Error ? err.name : 'unknown' });
    return { op: 'error', code: 'INTERNAL', message: ERROR_CODES.INTERNAL };
  }
}

function publicGate(g: Gate): GateView {
  return { id: g.id, method: g.method, hint: g.hint };
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : 'INTERNAL';
}

/** The admin-facing detail a DirectoryError carries (never a secret). */
function detailOf(err: unknown): string | undefined {
  const detail = (err as { detail?: unknown } | null)?.detail;
  return typeof detail === 'string' ? detail : undefined;
}

function reasonOf(err: unknown): PolicyReason | undefined {
  return (err as { reason?: PolicyReason } | null)?.reason;
}
