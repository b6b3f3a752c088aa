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

export type ClientMessage =
  | { op: 'start'; action: Action; user: string }
  | { op: 'gate.send'; gate: string }
  | { op: 'gate.verify'; gate: string; code: string }
  | { op: 'reset'; newPassword: string }
  | { op: 'unlock' }
  | { op: 'change'; oldPassword: string; newPassword: string };

export type AgentMessage =
  | {
      op: 'challenge';
      action: Action;
      gates: GateView[];
      required: number;
      passed: string[];
      policy: PasswordPolicyView;
    }
  | { op: 'gate.sent'; gate: string; resendAfter: number }
  | { op: 'gate.passed'; gate: string; remaining: number }
  | { op: 'done'; action: Action }
  | { op: 'error'; code: ErrorCode; reason?: PolicyReason; message: string };

export const MAX_USER_ID = 256;
export const MAX_CODE = 64;
const MAX_SEALED_PASSWORD = 1024;
const GATE_ID = /^[A-Za-z0-9_-]{1,32}$/;

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

export function parseClientMessage(value: unknown): ClientMessage {
  const op = (value as Obj | null)?.['op'];
  switch (op) {
    case 'start': {
      const o = object(value, ['op', 'action', 'user']);
      // Control characters (C0 and C1) never belong in a user id and would only help injection attempts.
      return { op, action: oneOf(o, 'action', ACTIONS), user: str(o, 'user', MAX_USER_ID, /^[^\u0000-\u001f\u007f-\u009f]+$/) };
    }
    case 'gate.send': {
      const o = object(value, ['op', 'gate']);
      return { op, gate: str(o, 'gate', 32, GATE_ID) };
    }
    case 'gate.verify': {
      const o = object(value, ['op', 'gate', 'code']);
      return { op, gate: str(o, 'gate', 32, GATE_ID), code: str(o, 'code', MAX_CODE) };
    }
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
      const o = object(value, ['op', 'gate', 'resendAfter']);
      return { op, gate: str(o, 'gate', 32, GATE_ID), resendAfter: int(o, 'resendAfter', 0, 86400) };
    }
    case 'gate.passed': {
      const o = object(value, ['op', 'gate', 'remaining']);
      return { op, gate: str(o, 'gate', 32, GATE_ID), remaining: int(o, 'remaining', 0, 4) };
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
