/**
 * One person's session, as a state machine. The agent's own state decides what is allowed;
 * nothing the client claims about itself is believed.
 *
 *   new ──start──► challenged ──(required gates passed)──► reset | unlock ──► done
 *    │                 └──────── change (old password proves identity) ──► done
 *    ├──register.start (current password)──► registering ──register.*──► registering
 *    └──register.status──► done
 *
 * A session names its person once (start or register.start); every later step acts on that
 * person only. People we can't help (unknown, out of scope, not registered enough) walk the same
 * path with decoy gates that can never be passed, so every answer has the same shape and costs
 * the same as a real one. Whether a person has proven who they are is decided in agent/gates/.
 */
import { createHmac } from 'node:crypto';
import { ERROR_CODES, isErrorCode, POLICY_REASON_MESSAGES, UnlatchError, type PolicyReason } from '../../protocol/errors.ts';
import type { Action, AgentMessage, ClientMessage, GateView, PasswordPolicyView, RegisterAdd, RegistrationView } from '../../protocol/messages.ts';
import type { PasswordField } from '../../protocol/password.ts';
import type { EventFields, EventLog, EventName } from '../events.ts';
import type { CheckResult, Gate, Gates, Offer } from '../gates/index.ts';
import { remaining, type GateKind } from '../gates/policy.ts';
import type { Pending, Registrations } from '../gates/registration.ts';
import { subjectOf } from '../gates/subject.ts';
import type { Throttle } from '../gates/throttle.ts';
import { describeMethods, type Notice, type Notifier } from '../notify/index.ts';
import type { DirectoryPort, SessionUser } from './ports.ts';

export interface FlowSettings {
  actions: { reset: boolean; unlock: boolean; change: boolean };
  /** A DN nobody has, bound against when an unknown id asks to register (same work, same answer). */
  decoyBindDN: string;
}

export interface FlowDeps {
  directory: DirectoryPort;
  gates: Gates;
  registrations: Registrations;
  throttle: Throttle;
  notifier: Notifier;
  events: EventLog;
  /** Keys the throttle subject of unknown ids. */
  decoyKey: Buffer;
  settings: FlowSettings;
  now?: () => number;
}

type Challenged = {
  name: 'challenged';
  action: Action;
  user: SessionUser | null;
  subject: string;
  offer: Offer;
  passed: Map<GateKind, Gate>;
  locale: string | undefined;
};
type Registering = {
  name: 'registering';
  user: SessionUser;
  subject: string;
  locale: string | undefined;
  pending: Map<string, Pending>;
};
type State = { name: 'new' } | Challenged | Registering | { name: 'done' };

const MAX_PENDING = 8;
/** How long code delivery waits after the answer (see runDeferred). */
const DELIVERY_DELAY_MS = 10;

export class SessionFlow {
  private state: State = { name: 'new' };
  private readonly now: () => number;
  /** Work to run once the answer has gone out (sending codes): never before, so it can't slow the answer. */
  private readonly deferred: Array<() => void> = [];

  constructor(
    private readonly deps: FlowDeps,
    /** Opens a password-layer ciphertext of this session. */
    private readonly openPassword: (field: PasswordField, sealed: string) => Promise<string>,
    private readonly sid: string,
    /** The client's address as the relay saw it (for notices); undefined when the relay did not say. */
    private readonly source?: string,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Handles one validated message; always resolves to the answer to send. */
  async handle(message: ClientMessage): Promise<AgentMessage> {
    try {
      switch (message.op) {
        case 'start':
          return await this.start(message.action, message.user, message.locale);
        case 'gate.send':
          return await this.send(message.gate);
        case 'gate.verify':
          return await this.verify(message.gate, message.code);
        case 'gate.answer':
          return await this.answer(message.gate, message.answers);
        case 'reset':
          return await this.act('reset', (user) => this.withPassword('newPassword', message.newPassword, (pw) => this.deps.directory.reset(user, pw)));
        case 'unlock':
          return await this.act('unlock', (user) => this.deps.directory.unlock(user));
        case 'change':
          return await this.change(message.oldPassword, message.newPassword);
        case 'register.status':
          return await this.status(message.user);
        case 'register.start':
          return await this.registerStart(message.user, message.currentPassword, message.locale);
        case 'register.add':
          return await this.registerAdd(message);
        case 'register.verify':
          return await this.registerVerify(message.id, message.code);
        case 'register.resend':
          return await this.registerResend(message.id);
        case 'register.remove':
          return await this.registerRemove(message.id);
        case 'register.confirm':
          return await this.registerConfirm();
      }
    } catch (err) {
      return this.failure(err);
    }
  }

  // ---- reset, unlock, change --------------------------------------------------------------

  private async start(action: Action, userId: string, locale: string | undefined): Promise<AgentMessage> {
    if (this.state.name !== 'new') throw new UnlatchError('BAD_REQUEST', 'This session has already started.');
    if (!this.deps.settings.actions[action]) throw new UnlatchError('NOT_ALLOWED');
    const { user, subject } = await this.identify(userId);
    const policy = await this.deps.directory.policyFor(user);
    if (await this.deps.throttle.isBlocked(subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const offer: Offer =
      action === 'change'
        ? { gates: [], policy: { required: 0, questionsAllowed: false, privileged: false }, decoy: user === null }
        : await this.deps.gates.offer(subject, user, userId);
    this.state = { name: 'challenged', action, user, subject, offer, passed: new Map(), locale };
    const event: EventName = action === 'change' ? 'ChangePasswordStart' : 'PasswordResetStart';
    this.deps.events.emit(event, { sid: this.sid, action, user: user?.dn, known: user !== null, decoy: offer.decoy });
    return { op: 'challenge', action, gates: offer.gates.map(publicGate), required: offer.policy.required, passed: [], policy };
  }

  private async send(gateId: string): Promise<AgentMessage> {
    const s = this.challenged();
    const gate = this.offered(s, gateId);
    if (await this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const result = await this.deps.gates.send(s.subject, gate, s.locale);
    if (result.deliver) this.deliver(result.deliver, { sid: this.sid, user: s.user?.dn, method: gate.method, phase: 'reset' });
    return { op: 'gate.sent', gate: gate.id, resendAfter: result.resendAfter, ...(result.questions ? { questions: result.questions } : {}) };
  }

  private async verify(gateId: string, code: string): Promise<AgentMessage> {
    const s = this.challenged();
    const gate = this.offered(s, gateId);
    if (gate.method === 'questions') throw new UnlatchError('BAD_REQUEST', 'Answer security questions with "gate.answer".');
    const checked = await this.counted(s, gate.method, () => this.deps.gates.verifyCode(s.subject, gate, code));
    return this.settle(s, gate, checked);
  }

  private async answer(gateId: string, answers: string[]): Promise<AgentMessage> {
    const s = this.challenged();
    const gate = this.offered(s, gateId);
    if (gate.method !== 'questions') throw new UnlatchError('BAD_REQUEST', 'Only security questions are answered with "gate.answer".');
    if (!gate.sent) throw new UnlatchError('BAD_REQUEST', 'Ask for the questions first ("gate.send").');
    const checked = await this.counted(s, gate.method, () => this.deps.gates.verifyAnswers(s.subject, gate, answers));
    return this.settle(s, gate, checked);
  }

  /** A refused attempt (over the limit) is still a failed one: it shows in the events. */
  private async counted<T>(s: Challenged | Registering, method: string, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (err) {
      if (err instanceof UnlatchError && err.code === 'TOO_MANY_ATTEMPTS') {
        this.deps.events.emit('GateFailed', { sid: this.sid, user: s.user?.dn, method, result: 'refused', phase: s.name === 'registering' ? 'register' : 'reset' });
      }
      throw err;
    }
  }

  private settle(s: Challenged, gate: Gate, { result, blocked }: { result: CheckResult; blocked: boolean }): AgentMessage {
    if (result === 'ok') {
      s.passed.set(gate.kind, gate);
      this.deps.events.emit('GatePassed', { sid: this.sid, user: s.user?.dn, method: gate.method });
      const left = remaining(s.offer.policy.required, new Set(s.passed.keys()));
      const offered = s.offer.gates.filter((g) => !s.passed.has(g.kind)).map((g) => g.id);
      return { op: 'gate.passed', gate: gate.id, remaining: left, offered };
    }
    this.deps.events.emit('GateFailed', { sid: this.sid, user: s.user?.dn, method: gate.method, result, phase: 'reset' });
    if (blocked) this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: s.user?.dn, why: 'failures', method: gate.method });
    throw new UnlatchError(result === 'expired' ? 'GATE_EXPIRED' : 'GATE_FAILED');
  }

  /** Reset or unlock: only for the person the gates were passed for, only once the policy is met. */
  private async act(action: 'reset' | 'unlock', write: (user: SessionUser) => Promise<void>): Promise<AgentMessage> {
    const s = this.challenged();
    if (s.action !== action) throw new UnlatchError('BAD_REQUEST', `This session was started for "${s.action}".`);
    if (!s.user || s.offer.decoy || remaining(s.offer.policy.required, new Set(s.passed.keys())) > 0) throw new UnlatchError('GATES_REQUIRED');
    if (await this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
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
    this.state = { name: 'done' };
    const method = describeMethods([...s.passed.values()].map((g) => ({ method: g.method, hint: g.hint })));
    await this.notify(s.subject, user, { kind: action, method });
    if (await this.deps.throttle.recordReset(s.subject)) this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: user.dn, why: 'resets' });
    return { op: 'done', action };
  }

  private async change(oldSealed: string, newSealed: string): Promise<AgentMessage> {
    const s = this.challenged();
    if (s.action !== 'change') throw new UnlatchError('BAD_REQUEST', `This session was started for "${s.action}".`);
    if (await this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
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
      if (codeOf(err) === 'INVALID_CREDENTIALS' && (await this.deps.throttle.recordFailure(s.subject, 'password'))) {
        this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: user?.dn, why: 'failures', method: 'password' });
      }
      this.deps.events.emit('ChangePasswordFail', { sid: this.sid, user: user?.dn, code: codeOf(err), reason: reasonOf(err) });
      throw err;
    }
    this.deps.events.emit('ChangePasswordSuccess', { sid: this.sid, user: user?.dn });
    this.state = { name: 'done' };
    if (user) await this.notify(s.subject, user, { kind: 'change', method: describeMethods([{ method: 'password' }]) });
    return { op: 'done', action: 'change' };
  }

  // ---- registration -----------------------------------------------------------------------

  /** Whether to nudge someone to register after they signed in (decoy coin for ids we can't help). */
  private async status(userId: string): Promise<AgentMessage> {
    if (this.state.name !== 'new') throw new UnlatchError('BAD_REQUEST', 'This session has already started.');
    const { user, subject } = await this.identify(userId);
    const helpable = user && !user.protected && !user.disabled ? user : null;
    const nudge = await this.deps.registrations.nudge(subject, helpable, userId);
    this.state = { name: 'done' };
    return { op: 'register.status', ...nudge };
  }

  private async registerStart(userId: string, sealed: string, locale: string | undefined): Promise<AgentMessage> {
    if (this.state.name !== 'new') throw new UnlatchError('BAD_REQUEST', 'This session has already started.');
    const { user, subject } = await this.identify(userId);
    if (await this.deps.throttle.isBlocked(subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const attempt = await this.deps.throttle.attempt(subject, 'password');
    if (attempt.refused) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const ok = await this.withPassword('oldPassword', sealed, async (password) => {
      // Nobody by that id: a bind as a DN nobody has costs what a wrong password costs.
      const target = user ?? { dn: this.deps.settings.decoyBindDN, sam: '', mail: [], inScope: false, protected: false, disabled: false };
      const right = await this.deps.directory.verifyPassword(target, password).catch((err: unknown) => {
        if (user) throw err;
        return false;
      });
      return right && user !== null;
    });
    if (!ok) {
      const blocked = await this.deps.throttle.failed(subject, attempt);
      this.deps.events.emit('RegistrationSignInFail', { sid: this.sid, user: user?.dn, known: user !== null });
      if (blocked) this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: user?.dn, why: 'failures', method: 'password' });
      throw new UnlatchError('INVALID_CREDENTIALS');
    }
    await this.deps.throttle.succeeded(attempt);
    const person = user as SessionUser;
    if (person.protected) throw new UnlatchError('USER_PROTECTED');
    if (person.disabled) throw new UnlatchError('ACCOUNT_DISABLED');
    this.state = { name: 'registering', user: person, subject, locale, pending: new Map() };
    this.deps.events.emit('RegistrationSignIn', { sid: this.sid, user: person.dn });
    return this.view(this.state);
  }

  private async registerAdd(message: RegisterAdd): Promise<AgentMessage> {
    const s = this.registering();
    if (await this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    const { gates, registrations } = this.deps;
    const policy = gates.policy(s.user.privileged === true);
    if (!registrations.registrable(policy).includes(message.method)) throw new UnlatchError('NOT_ALLOWED');
    if (message.method === 'questions') {
      const before = await this.addresses(s.subject, s.user);
      await registrations.setAnswers(s.subject, policy, message.answers);
      return this.changed(s, 'questions', 'questions', 'Your security questions were set.', before);
    }
    if (s.pending.size >= MAX_PENDING) throw new UnlatchError('REGISTRATION_INVALID', 'Finish or drop the registrations already started first.');
    let pending: Pending;
    if (message.method === 'totp') {
      pending = registrations.beginTotp(s.subject);
      s.pending.set(pending.id, pending);
      const uri = registrations.totpUri(pending, s.user.upn ?? s.user.sam);
      return { op: 'register.pending', id: pending.id, method: 'totp', hint: pending.hint, resendAfter: 0, otpauthUri: uri };
    }
    pending =
      message.method === 'email'
        ? await registrations.beginEmail(s.subject, s.user, message.address)
        : await registrations.beginPhone(s.subject, s.user, message.method, message.phone);
    s.pending.set(pending.id, pending);
    return this.sendPending(s, pending);
  }

  private async registerResend(id: string): Promise<AgentMessage> {
    const s = this.registering();
    const pending = s.pending.get(id);
    if (!pending || pending.method === 'totp') throw new UnlatchError('BAD_REQUEST', 'Nothing to send for that.');
    if (await this.deps.throttle.isBlocked(s.subject)) throw new UnlatchError('TOO_MANY_ATTEMPTS');
    return this.sendPending(s, pending);
  }

  private async sendPending(s: Registering, pending: Pending): Promise<AgentMessage> {
    const { code, ttlMinutes, resendAfter } = await this.deps.registrations.sendCode(s.subject, pending);
    const to = pending.contact as string;
    const { notifier } = this.deps;
    const method = pending.method;
    const deliver = () => (method === 'email' ? notifier.emailCode(to, code, ttlMinutes) : notifier.phoneCode(method as 'sms' | 'voice', to, code, ttlMinutes, s.locale));
    this.deliver(deliver, { sid: this.sid, user: s.user.dn, method, phase: 'register' });
    return { op: 'register.pending', id: pending.id, method: pending.method, hint: pending.hint, resendAfter };
  }

  private async registerVerify(id: string, code: string): Promise<AgentMessage> {
    const s = this.registering();
    const pending = s.pending.get(id);
    if (!pending) throw new UnlatchError('BAD_REQUEST', 'Nothing is waiting for that code.');
    const before = await this.addresses(s.subject, s.user);
    const { result, blocked } = await this.counted(s, pending.method, () => this.deps.registrations.verify(s.subject, pending, code));
    if (result !== 'ok') {
      this.deps.events.emit('GateFailed', { sid: this.sid, user: s.user.dn, method: pending.method, result, phase: 'register' });
      if (blocked) this.deps.events.emit('SelfServiceBlocked', { sid: this.sid, user: s.user.dn, why: 'failures', method: pending.method });
      throw new UnlatchError(result === 'expired' ? 'GATE_EXPIRED' : 'GATE_FAILED');
    }
    s.pending.delete(id);
    const what = { email: 'An alternate e-mail address', sms: 'A phone number', voice: 'A phone number', totp: 'An authenticator app' }[pending.method];
    return this.changed(s, 'added', pending.method, `${what}${pending.method === 'totp' ? '' : ` (${pending.hint})`} was added to your self-service registration.`, before);
  }

  private async registerRemove(id: string): Promise<AgentMessage> {
    const s = this.registering();
    const before = await this.addresses(s.subject, s.user);
    const registration = await this.deps.registrations.state(s.subject, s.user, this.deps.gates.policy(s.user.privileged === true), s.locale);
    const removed = registration.methods.find((m) => m.id === id);
    const kind = await this.deps.registrations.remove(s.subject, id);
    if (kind === 'questions') return this.changed(s, 'questions_removed', 'questions', 'Your security questions were removed.', before);
    return this.changed(s, 'removed', removed?.method ?? 'unknown', `A method (${removed?.hint ?? id}) was removed from your self-service registration.`, before);
  }

  private async registerConfirm(): Promise<AgentMessage> {
    const s = this.registering();
    await this.deps.registrations.confirm(s.subject);
    this.deps.events.emit('RegistrationChanged', { sid: this.sid, user: s.user.dn, change: 'confirmed' });
    return this.view(s);
  }

  /** After a registration change: event, notice to every address on file before and after, the new view. */
  private async changed(s: Registering, change: string, method: string, text: string, before: string[]): Promise<AgentMessage> {
    this.deps.events.emit('RegistrationChanged', { sid: this.sid, user: s.user.dn, change, method });
    const after = await this.addresses(s.subject, s.user);
    this.deps.notifier.notice(
      [...before, ...after],
      { kind: 'registration', account: s.user.sam, displayName: s.user.displayName, time: this.now(), source: this.source, method: describeMethods([{ method: 'password' }]), change: text },
      { sid: this.sid, user: s.user.dn },
    );
    return this.view(s);
  }

  private async view(s: Registering): Promise<RegistrationView> {
    const state = await this.deps.registrations.state(s.subject, s.user, this.deps.gates.policy(s.user.privileged === true), s.locale);
    return { op: 'registration', ...state };
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** The person behind an id (null when unknown or out of scope) and the key their state is kept under. */
  private async identify(userId: string): Promise<{ user: SessionUser | null; subject: string }> {
    const found = await this.deps.directory.findUser(userId);
    const user = found && found.inScope ? found : null;
    const subject = user ? subjectOf(user) : `id:${this.keyed(userId)}`;
    return { user, subject };
  }

  /** The person's addresses for notices: the directory's mail plus e-mail contact data on file. */
  private async addresses(subject: string, user: SessionUser): Promise<string[]> {
    const registration = await this.deps.gates.registrationOf(subject);
    return [...user.mail, ...this.deps.gates.contacts(user, registration, subject, 'email')];
  }

  private async notify(subject: string, user: SessionUser, n: Pick<Notice, 'kind' | 'method'>): Promise<void> {
    const to = await this.addresses(subject, user).catch(() => user.mail);
    this.deps.notifier.notice(to, { ...n, account: user.sam, displayName: user.displayName, time: this.now(), source: this.source }, { sid: this.sid, user: user.dn });
  }

  /** Queues a send for after the answer has gone out (see runDeferred); its outcome becomes an event. */
  private deliver(send: () => Promise<void>, fields: EventFields): void {
    this.deferred.push(() => {
      send().then(
        () => this.deps.events.emit('GateCodeSent', fields),
        (err: Error) => this.deps.events.emit('GateCodeSendFail', { ...fields, error: err.message }),
      );
    });
  }

  /**
   * Starts the work queued by the last message (SMTP, SMS gateway). The session manager calls it
   * right after sending the answer, and the work waits a few milliseconds more, until the answer
   * has left the process: a real code's delivery (message build, a TLS handshake with the mail
   * server, …) then never makes the answer slower than a decoy's, which sends nothing.
   */
  runDeferred(): void {
    const tasks = this.deferred.splice(0);
    if (tasks.length) setTimeout(() => tasks.forEach((task) => task()), DELIVERY_DELAY_MS).unref();
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

  private challenged(): Challenged {
    if (this.state.name === 'challenged') return this.state;
    throw new UnlatchError('BAD_REQUEST', this.state.name === 'new' ? 'Start the session first.' : 'This step does not belong to this session.');
  }

  private registering(): Registering {
    if (this.state.name === 'registering') return this.state;
    throw new UnlatchError('BAD_REQUEST', this.state.name === 'new' ? 'Open the registration first ("register.start").' : 'This step does not belong to this session.');
  }

  /** A gate of this session still on offer (a kind once passed is no longer offered). */
  private offered(s: Challenged, id: string): Gate {
    const gate = s.offer.gates.find((g) => g.id === id);
    if (!gate) throw new UnlatchError('BAD_REQUEST', 'Unknown check.');
    if (s.passed.has(gate.kind)) throw new UnlatchError('BAD_REQUEST', 'This check is already passed.');
    return gate;
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
