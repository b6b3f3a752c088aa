/**
 * Application messages: what travels inside the sealed channel. The agent validates every
 * client message with parseClientMessage before acting on it; the client validates answers
 * with parseAgentMessage. Both throw UnlatchError('BAD_REQUEST') naming the bad field.
 */
import { isErrorCode, POLICY_REASONS, UnlatchError, type ErrorCode, type PolicyReason } from './errors.ts';

export const ACTIONS = ['reset', 'unlock', 'change'] as const;
export type Action = (typeof ACTIONS)[number];

export const GATE_METHODS = ['email', 'sms', 'voice', 'totp', 'questions'] as const;
export type GateMethod = (typeof GATE_METHODS)[number];

/** The domain's rules, as the directory enforces them for this user. */
export interface PasswordPolicyView {
  minLength: number;
  complexity: boolean;
  historyLength: number;
  minAgeSeconds: number;
  maxAgeSeconds: number;
}

export interface GateView {
  id: string;
  method: GateMethod;
  /** Masked contact data, e.g. a•••@corp.example or •••••89. */
  hint: string;
}

/** A security question as shown to a person, in their language when the agent has it. */
export interface QuestionView {
  id: string;
  text: string;
}

/** One method on file, as the registration page lists it. */
export interface RegisteredMethodView {
  id: string;
  method: GateMethod;
  hint: string;
  /** `directory`: from attributes the admin maps (the help desk changes it); `registered`: the person's own. */
  source: 'directory' | 'registered';
}

/** Methods a person registers themselves (questions go through `register.add` with `answers`). */
export const REGISTRABLE_METHODS = ['email', 'sms', 'voice', 'totp', 'questions'] as const;
export type RegistrableMethod = (typeof REGISTRABLE_METHODS)[number];

export const NUDGE_REASONS = ['register', 'reconfirm'] as const;
export type NudgeReason = (typeof NUDGE_REASONS)[number];

export type RegisterAdd =
  | { op: 'register.add'; method: 'sms' | 'voice'; phone: string }
  | { op: 'register.add'; method: 'email'; address: string }
  | { op: 'register.add'; method: 'totp' }
  | { op: 'register.add'; method: 'questions'; answers: Array<{ question: string; answer: string }> };

export type ClientMessage =
  | { op: 'start'; action: Action; user: string; locale?: string }
  | { op: 'gate.send'; gate: string }
  | { op: 'gate.verify'; gate: string; code: string }
  | { op: 'gate.answer'; gate: string; answers: string[] }
  | { op: 'reset'; newPassword: string }
  | { op: 'unlock' }
  | { op: 'change'; oldPassword: string; newPassword: string }
  | { op: 'register.status'; user: string }
  | { op: 'register.start'; user: string; currentPassword: string; locale?: string }
  | RegisterAdd
  | { op: 'register.verify'; id: string; code: string }
  | { op: 'register.resend'; id: string }
  | { op: 'register.remove'; id: string }
  | { op: 'register.confirm' };

export type AgentMessage =
  | {
      op: 'challenge';
      action: Action;
      gates: GateView[];
      required: number;
      passed: string[];
      policy: PasswordPolicyView;
    }
  | { op: 'gate.sent'; gate: string; resendAfter: number; questions?: QuestionView[] }
  | { op: 'gate.passed'; gate: string; remaining: number; offered?: string[] }
  | { op: 'done'; action: Action }
  | { op: 'register.status'; nudge: boolean; reason?: NudgeReason }
  | RegistrationView
  | { op: 'register.pending'; id: string; method: Exclude<RegistrableMethod, 'questions'>; hint: string; resendAfter: number; otpauthUri?: string }
  | { op: 'error'; code: ErrorCode; reason?: PolicyReason; message: string };

/** What the registration page shows: what is on file, what the policy asks, what may be added. */
export interface RegistrationView {
  op: 'registration';
  methods: RegisteredMethodView[];
  /** Methods the person may register. */
  enabled: GateMethod[];
  /** Checks the policy asks at a reset (1 or 2). */
  required: number;
  /** What is on file satisfies the policy. */
  complete: boolean;
  /** The policy asks the person to confirm (or update) their data now. */
  reconfirmDue: boolean;
  questionsRegistered: number;
  questionsToRegister: number;
  questionsToAnswer: number;
  /** Questions to choose from (empty when questions are off for this person). */
  questions: QuestionView[];
}

export const MAX_USER_ID = 256;
export const MAX_CODE = 64;
export const MAX_ANSWER = 256;
export const MAX_ANSWERS = 8;
const MAX_SEALED_PASSWORD = 1024;
const GATE_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** BCP 47-ish: en, de-CH, zh-Hant-TW. */
const LOCALE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/;
/** Printable text: no C0/C1 control characters. */
const TEXT = /^[^\u0000-\u001f\u007f-\u009f]+$/;

type Obj = Record<string, unknown>;

function bad(field: string): never {
  throw new UnlatchError('BAD_REQUEST', `The request field "${field}" is missing or invalid.`);
}

function object(value: unknown, keys: readonly string[], field = 'op'): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field);
  for (const k of Object.keys(value)) if (!keys.includes(k)) bad(k);
  return value as Obj;
}

function str(o: Obj, key: string, max: number, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max || (pattern && !pattern.test(v))) bad(key);
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(key);
  return v as T;
}

function int(o: Obj, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(key);
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') bad(key);
  return v;
}

/** An optional string field: absent, or valid. */
function optional<T>(o: Obj, key: string, read: () => T): { [k: string]: T } {
  return o[key] === undefined ? {} : { [key]: read() };
}

function list<T>(o: Obj, key: string, max: number, item: (value: unknown) => T, min = 0): T[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length < min || v.length > max) bad(key);
  return v.map(item);
}

function textItem(key: string, max: number): (value: unknown) => string {
  return (value) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > max || !TEXT.test(value)) bad(key);
    return value;
  };
}

export function parseClientMessage(value: unknown): ClientMessage {
  const op = (value as Obj | null)?.['op'];
  switch (op) {
    case 'start': {
      const o = object(value, ['op', 'action', 'user', 'locale']);
      // Control characters (C0 and C1) never belong in a user id and would only help injection attempts.
      return {
        op,
        action: oneOf(o, 'action', ACTIONS),
        user: str(o, 'user', MAX_USER_ID, TEXT),
        ...(optional(o, 'locale', () => str(o, 'locale', 35, LOCALE)) as { locale?: string }),
      };
    }
    case 'gate.send': {
      const o = object(value, ['op', 'gate']);
      return { op, gate: str(o, 'gate', 32, GATE_ID) };
    }
    case 'gate.verify': {
      const o = object(value, ['op', 'gate', 'code']);
      return { op, gate: str(o, 'gate', 32, GATE_ID), code: str(o, 'code', MAX_CODE) };
    }
    case 'gate.answer': {
      const o = object(value, ['op', 'gate', 'answers']);
      return { op, gate: str(o, 'gate', 32, GATE_ID), answers: list(o, 'answers', MAX_ANSWERS, textItem('answers', MAX_ANSWER), 1) };
    }
    case 'register.status': {
      const o = object(value, ['op', 'user']);
      return { op, user: str(o, 'user', MAX_USER_ID, TEXT) };
    }
    case 'register.start': {
      const o = object(value, ['op', 'user', 'currentPassword', 'locale']);
      return {
        op,
        user: str(o, 'user', MAX_USER_ID, TEXT),
        currentPassword: str(o, 'currentPassword', MAX_SEALED_PASSWORD),
        ...(optional(o, 'locale', () => str(o, 'locale', 35, LOCALE)) as { locale?: string }),
      };
    }
    case 'register.add':
      return registerAdd(value);
    case 'register.verify': {
      const o = object(value, ['op', 'id', 'code']);
      return { op, id: str(o, 'id', 32, GATE_ID), code: str(o, 'code', MAX_CODE) };
    }
    case 'register.resend':
    case 'register.remove': {
      const o = object(value, ['op', 'id']);
      return { op, id: str(o, 'id', 32, GATE_ID) };
    }
    case 'register.confirm':
      object(value, ['op']);
      return { op };
    case 'reset': {
      const o = object(value, ['op', 'newPassword']);
      return { op, newPassword: str(o, 'newPassword', MAX_SEALED_PASSWORD) };
    }
    case 'unlock':
      object(value, ['op']);
      return { op };
    case 'change': {
      const o = object(value, ['op', 'oldPassword', 'newPassword']);
      return { op, oldPassword: str(o, 'oldPassword', MAX_SEALED_PASSWORD), newPassword: str(o, 'newPassword', MAX_SEALED_PASSWORD) };
    }
    default:
      return bad('op');
  }
}

function registerAdd(value: unknown): ClientMessage {
  const method = (value as Obj)['method'];
  switch (method) {
    case 'sms':
    case 'voice': {
      const o = object(value, ['op', 'method', 'phone']);
      return { op: 'register.add', method, phone: str(o, 'phone', 64, /^[0-9+()./ -]+$/) };
    }
    case 'email': {
      const o = object(value, ['op', 'method', 'address']);
      return { op: 'register.add', method, address: str(o, 'address', 254, /^[^\s@]+@[^\s@]+$/) };
    }
    case 'totp':
      object(value, ['op', 'method']);
      return { op: 'register.add', method };
    case 'questions': {
      const o = object(value, ['op', 'method', 'answers']);
      const answers = list(o, 'answers', MAX_ANSWERS, (item) => {
        const a = object(item, ['question', 'answer'], 'answers');
        return { question: str(a, 'question', 64, GATE_ID), answer: str(a, 'answer', MAX_ANSWER, TEXT) };
      }, 1);
      return { op: 'register.add', method, answers };
    }
    default:
      return bad('method');
  }
}

function question(value: unknown): QuestionView {
  const o = object(value, ['id', 'text'], 'questions');
  return { id: str(o, 'id', 64, GATE_ID), text: str(o, 'text', 512) };
}

function gateIds(o: Obj, key: string): string[] {
  return list(o, key, 16, (v) => {
    if (typeof v !== 'string' || !GATE_ID.test(v)) bad(key);
    return v;
  });
}

function registeredMethod(value: unknown): RegisteredMethodView {
  const o = object(value, ['id', 'method', 'hint', 'source'], 'methods');
  return {
    id: str(o, 'id', 32, GATE_ID),
    method: oneOf(o, 'method', GATE_METHODS),
    hint: str(o, 'hint', 256),
    source: oneOf(o, 'source', ['directory', 'registered'] as const),
  };
}

function policy(value: unknown): PasswordPolicyView {
  const o = object(value, ['minLength', 'complexity', 'historyLength', 'minAgeSeconds', 'maxAgeSeconds'], 'policy');
  if (typeof o['complexity'] !== 'boolean') bad('policy.complexity');
  return {
    minLength: int(o, 'minLength', 0, 1024),
    complexity: o['complexity'],
    historyLength: int(o, 'historyLength', 0, 1024),
    minAgeSeconds: int(o, 'minAgeSeconds'),
    maxAgeSeconds: int(o, 'maxAgeSeconds'),
  };
}

function gate(value: unknown): GateView {
  const o = object(value, ['id', 'method', 'hint'], 'gates');
  return { id: str(o, 'id', 32, GATE_ID), method: oneOf(o, 'method', GATE_METHODS), hint: str(o, 'hint', 256) };
}

export function parseAgentMessage(value: unknown): AgentMessage {
  const op = (value as Obj | null)?.['op'];
  switch (op) {
    case 'challenge': {
      const o = object(value, ['op', 'action', 'gates', 'required', 'passed', 'policy']);
      const gates = o['gates'];
      const passed = o['passed'];
      if (!Array.isArray(gates) || gates.length > 16) bad('gates');
      if (!Array.isArray(passed) || passed.length > 16 || !passed.every((p) => typeof p === 'string')) bad('passed');
      return {
        op,
        action: oneOf(o, 'action', ACTIONS),
        gates: gates.map(gate),
        required: int(o, 'required', 0, 4),
        passed: passed as string[],
        policy: policy(o['policy']),
      };
    }
    case 'gate.sent': {
      const o = object(value, ['op', 'gate', 'resendAfter', 'questions']);
      return {
        op,
        gate: str(o, 'gate', 32, GATE_ID),
        resendAfter: int(o, 'resendAfter', 0, 86400),
        ...(optional(o, 'questions', () => list(o, 'questions', MAX_ANSWERS, question)) as { questions?: QuestionView[] }),
      };
    }
    case 'gate.passed': {
      const o = object(value, ['op', 'gate', 'remaining', 'offered']);
      return {
        op,
        gate: str(o, 'gate', 32, GATE_ID),
        remaining: int(o, 'remaining', 0, 4),
        ...(optional(o, 'offered', () => gateIds(o, 'offered')) as { offered?: string[] }),
      };
    }
    case 'register.status': {
      const o = object(value, ['op', 'nudge', 'reason']);
      return { op, nudge: bool(o, 'nudge'), ...(optional(o, 'reason', () => oneOf(o, 'reason', NUDGE_REASONS)) as { reason?: NudgeReason }) };
    }
    case 'registration': {
      const o = object(value, [
        'op', 'methods', 'enabled', 'required', 'complete', 'reconfirmDue',
        'questionsRegistered', 'questionsToRegister', 'questionsToAnswer', 'questions',
      ]);
      return {
        op,
        methods: list(o, 'methods', 32, registeredMethod),
        enabled: list(o, 'enabled', GATE_METHODS.length, (v) => {
          if (typeof v !== 'string' || !(GATE_METHODS as readonly string[]).includes(v)) bad('enabled');
          return v as GateMethod;
        }),
        required: int(o, 'required', 0, 4),
        complete: bool(o, 'complete'),
        reconfirmDue: bool(o, 'reconfirmDue'),
        questionsRegistered: int(o, 'questionsRegistered', 0, 64),
        questionsToRegister: int(o, 'questionsToRegister', 0, 64),
        questionsToAnswer: int(o, 'questionsToAnswer', 0, 64),
        questions: list(o, 'questions', 64, question),
      };
    }
    case 'register.pending': {
      const o = object(value, ['op', 'id', 'method', 'hint', 'resendAfter', 'otpauthUri']);
      return {
        op,
        id: str(o, 'id', 32, GATE_ID),
        method: oneOf(o, 'method', ['email', 'sms', 'voice', 'totp'] as const),
        hint: str(o, 'hint', 256),
        resendAfter: int(o, 'resendAfter', 0, 86400),
        ...(optional(o, 'otpauthUri', () => str(o, 'otpauthUri', 1024, /^otpauth:\/\/totp\//)) as { otpauthUri?: string }),
      };
    }
    case 'done': {
      const o = object(value, ['op', 'action']);
      return { op, action: oneOf(o, 'action', ACTIONS) };
    }
    case 'error': {
      const o = object(value, ['op', 'code', 'reason', 'message']);
      if (!isErrorCode(o['code'])) bad('code');
      const reason = o['reason'] === undefined ? undefined : oneOf(o, 'reason', POLICY_REASONS);
      return { op, code: o['code'], ...(reason ? { reason } : {}), message: str(o, 'message', 1024) };
    }
    default:
      return bad('op');
  }
}
