/**
 * The reset page's flow, without any DOM or extension API so that Node tests drive it with a
 * fake session: user id → proof of work → gates → new password, change or unlock → result.
 *
 * Errors follow one rule: anything the protocol client *throws* ended the session (the relay
 * closed it, the agent went away, the crypto failed), so the flow fails and offers a restart;
 * an error *answer* from the agent leaves the session open, and the codes a person can fix on
 * the same step (a wrong code, a refused password) are shown there inline.
 */
import type { Action, AgentMessage, ClientMessage, GateView, PasswordPolicyView, QuestionView } from '../../protocol/messages.ts';
import type { PasswordField } from '../../protocol/password.ts';
import { describeError, toErrorInfo, type ErrorInfo, type ErrorView } from './errors.ts';
import { checkPassword } from './password-rules.ts';

/** What the flow needs of protocol/client.ts's ClientSession. */
export interface SessionLike {
  request(message: ClientMessage): Promise<AgentMessage>;
  sealPassword(field: PasswordField, password: string): Promise<string>;
  close(): void;
}

export type OpenSession = (onProgress: (fraction: number) => void) => Promise<SessionLike>;

export interface GatesStep {
  kind: 'gates';
  gates: GateView[];
  required: number;
  passed: string[];
  /** The gate the person is working on. */
  selected: string;
  /** gate id → ms timestamp from which a resend is allowed, for gates whose code was sent. */
  sent: Record<string, number>;
  /** Gates the agent offers for the next check (e.g. a different kind after the first); all when undefined. */
  offered?: string[];
  /** gate id → the security questions to answer, once the agent has sent them. */
  questions: Record<string, QuestionView[]>;
}

/** The gates a person may still choose from. */
export function openGates(step: GatesStep): GateView[] {
  return step.gates.filter((g) => !step.passed.includes(g.id) && (!step.offered || step.offered.includes(g.id)));
}

export type Step =
  | { kind: 'identify' }
  | { kind: 'connecting'; progress: number }
  | GatesStep
  | { kind: 'password'; mode: 'reset' | 'change'; policy: PasswordPolicyView }
  | { kind: 'done'; action: Action }
  | { kind: 'failed'; error: ErrorView };

export interface FlowState {
  step: Step;
  userId: string;
  action: Action;
  /** A request is in flight; the UI disables its buttons. */
  busy: boolean;
  /** An error to show on the current step. */
  notice?: ErrorView;
}

export interface FlowOptions {
  open: OpenSession;
  userId?: string;
  action?: Action;
  /** Start on the failure screen, e.g. KEY_PIN_MISSING: the page refuses before connecting. */
  initialError?: ErrorInfo;
  /** The person's language (BCP 47), so the agent words its messages (the code mail) in it. */
  locale?: string;
  now?: () => number;
}

export class ResetFlow {
  private session: SessionLike | undefined;
  /** The policy from the agent's challenge, for the password step after the gates. */
  private pendingPolicy: PasswordPolicyView | undefined;
  private listeners = new Set<(s: FlowState) => void>();
  private readonly now: () => number;
  state: FlowState;

  constructor(private readonly options: FlowOptions) {
    this.now = options.now ?? Date.now;
    this.state = {
      step: options.initialError ? { kind: 'failed', error: describeError(options.initialError) } : { kind: 'identify' },
      userId: options.userId ?? '',
      action: options.action ?? 'reset',
      busy: false,
    };
  }

  subscribe(listener: (s: FlowState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Step 1 → 2 → 3: open a session (proof of work) and ask the agent what it needs. */
  async begin(userId: string, action: Action): Promise<void> {
    const user = userId.trim();
    this.set({ userId: user, action, notice: undefined });
    if (!user || this.state.busy) return;
    this.set({ step: { kind: 'connecting', progress: 0 }, busy: true });
    try {
      this.session?.close();
      this.session = await this.options.open((progress) => {
        if (this.state.step.kind === 'connecting') this.set({ step: { kind: 'connecting', progress } });
      });
      const locale = this.options.locale && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/.test(this.options.locale) ? this.options.locale : undefined;
      const answer = await this.session.request({ op: 'start', action, user, ...(locale ? { locale } : {}) });
      if (answer.op !== 'challenge') return this.unexpected(answer);
      this.pendingPolicy = answer.policy;
      const remaining = answer.required - answer.passed.length;
      if (remaining > 0 && answer.gates.length > 0) {
        const open = answer.gates.find((g) => !answer.passed.includes(g.id));
        this.set({
          busy: false,
          step: {
            kind: 'gates',
            gates: answer.gates,
            required: answer.required,
            passed: answer.passed,
            selected: open?.id ?? '',
            sent: {},
            questions: {},
          },
        });
      } else if (action === 'unlock') {
        await this.unlockNow();
      } else {
        this.set({ busy: false, step: { kind: 'password', mode: action === 'change' ? 'change' : 'reset', policy: answer.policy } });
      }
    } catch (err) {
      this.fail(toErrorInfo(err));
    }
  }

  select(gateId: string): void {
    const step = this.state.step;
    if (step.kind !== 'gates' || !step.gates.some((g) => g.id === gateId)) return;
    this.set({ step: { ...step, selected: gateId }, notice: undefined });
  }

  /** Asks the agent to send (or resend) a code for a gate. */
  async send(gateId: string): Promise<void> {
    const step = this.state.step;
    if (step.kind !== 'gates' || this.state.busy) return;
    this.set({ busy: true, notice: undefined });
    const answer = await this.ask({ op: 'gate.send', gate: gateId });
    if (!answer) return;
    if (answer.op !== 'gate.sent') return this.unexpected(answer);
    const current = this.state.step as GatesStep;
    this.set({
      busy: false,
      step: {
        ...current,
        selected: gateId,
        sent: { ...current.sent, [gateId]: this.now() + answer.resendAfter * 1000 },
        questions: answer.questions ? { ...current.questions, [gateId]: answer.questions } : current.questions,
      },
    });
  }

  async verify(gateId: string, code: string): Promise<void> {
    const step = this.state.step;
    const trimmed = code.replace(/\s+/g, '');
    if (step.kind !== 'gates' || this.state.busy || !trimmed) return;
    this.set({ busy: true, notice: undefined });
    await this.passed(await this.ask({ op: 'gate.verify', gate: gateId, code: trimmed }));
  }

  /** Answers a gate's security questions, in the order the agent sent them. */
  async answer(gateId: string, answers: string[]): Promise<void> {
    const step = this.state.step;
    if (step.kind !== 'gates' || this.state.busy || answers.some((a) => !a.trim())) return;
    this.set({ busy: true, notice: undefined });
    await this.passed(await this.ask({ op: 'gate.answer', gate: gateId, answers: answers.map((a) => a.trim()) }));
  }

  private async passed(answer: AgentMessage | undefined): Promise<void> {
    if (!answer) return;
    if (answer.op !== 'gate.passed') return this.unexpected(answer);
    const current = this.state.step as GatesStep;
    const passed = [...current.passed, answer.gate];
    if (answer.remaining > 0) {
      const next: GatesStep = { ...current, passed, ...(answer.offered ? { offered: answer.offered } : {}) };
      this.set({ busy: false, step: { ...next, selected: openGates(next)[0]?.id ?? '' } });
      return;
    }
    if (this.state.action === 'unlock') return this.unlockNow();
    this.set({
      busy: false,
      step: { kind: 'password', mode: 'reset', policy: this.pendingPolicy ?? NO_POLICY },
    });
  }

  /**
   * Sets the new password (reset) or changes it (change). Rules the client can judge are
   * checked first, so a password the directory would refuse for them is never sent.
   */
  async submitPassword(newPassword: string, oldPassword?: string): Promise<void> {
    const step = this.state.step;
    if (step.kind !== 'password' || this.state.busy) return;
    const check = checkPassword(newPassword, step.policy, this.state.userId);
    if (check.violation) {
      this.set({
        notice: describeError(
          check.violation === 'too_long' ? { code: 'PASSWORD_TOO_LONG' } : { code: 'POLICY_VIOLATION', reason: check.violation },
        ),
      });
      return;
    }
    const session = this.session;
    if (!session) return this.fail({ code: 'SESSION_EXPIRED' });
    this.set({ busy: true, notice: undefined });
    let message: ClientMessage;
    try {
      const sealedNew = await session.sealPassword('newPassword', newPassword);
      message =
        step.mode === 'change'
          ? { op: 'change', oldPassword: await session.sealPassword('oldPassword', oldPassword ?? ''), newPassword: sealedNew }
          : { op: 'reset', newPassword: sealedNew };
    } catch (err) {
      const info = toErrorInfo(err);
      if (info.code === 'PASSWORD_TOO_LONG') return this.set({ busy: false, notice: describeError(info) });
      return this.fail(info);
    }
    const answer = await this.ask(message);
    if (!answer) return;
    if (answer.op !== 'done') return this.unexpected(answer);
    this.finish(answer.action);
  }

  /** Back to the first step, with a fresh session next time. */
  restart(): void {
    this.session?.close();
    this.session = undefined;
    this.pendingPolicy = undefined;
    this.set({ step: { kind: 'identify' }, busy: false, notice: undefined });
  }

  dispose(): void {
    this.session?.close();
    this.session = undefined;
    this.listeners.clear();
  }

  private async unlockNow(): Promise<void> {
    this.set({ busy: true });
    const answer = await this.ask({ op: 'unlock' });
    if (!answer) return;
    if (answer.op !== 'done') return this.unexpected(answer);
    this.finish('unlock');
  }

  /** One request; an error answer is shown (inline or as failure) and gives undefined. */
  private async ask(message: ClientMessage): Promise<AgentMessage | undefined> {
    const session = this.session;
    if (!session) {
      this.fail({ code: 'SESSION_EXPIRED' });
      return undefined;
    }
    let answer: AgentMessage;
    try {
      answer = await session.request(message);
    } catch (err) {
      this.fail(toErrorInfo(err));
      return undefined;
    }
    if (answer.op !== 'error') return answer;
    const view = describeError(answer.reason ? { code: answer.code, reason: answer.reason } : { code: answer.code });
    if (view.recoverable) this.set({ busy: false, notice: view });
    else this.fail(view);
    return undefined;
  }

  private finish(action: Action): void {
    this.session?.close();
    this.session = undefined;
    this.set({ busy: false, notice: undefined, step: { kind: 'done', action } });
  }

  private unexpected(_answer: AgentMessage): void {
    this.fail({ code: 'PROTOCOL_ERROR' });
  }

  private fail(info: ErrorInfo): void {
    this.session?.close();
    this.session = undefined;
    this.set({ busy: false, notice: undefined, step: { kind: 'failed', error: describeError(info) } });
  }

  private set(patch: Partial<FlowState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state);
  }
}

/** Used only if an agent skipped the policy: no rule known, the directory decides. */
const NO_POLICY: PasswordPolicyView = { minLength: 0, complexity: false, historyLength: 0, minAgeSeconds: 0, maxAgeSeconds: 0 };
