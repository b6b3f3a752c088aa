/**
 * How each error code is shown: which message and "what to do next" line (from _locales,
 * keys err_<CODE> and next_<CODE>), whether it is for the person or for their admin, and
 * whether the person can fix it on the same step or has to start again.
 */
import { ERROR_CODES, isErrorCode, POLICY_REASONS, type ErrorCode, type PolicyReason } from '../../protocol/errors.ts';

export interface ErrorInfo {
  code: ErrorCode;
  reason?: PolicyReason;
}

export interface ErrorView extends ErrorInfo {
  /** i18n key of the message. */
  messageKey: string;
  /** i18n key of the next-step line. */
  nextKey: string;
  /** i18n key of the broken password rule, for POLICY_VIOLATION. */
  reasonKey?: string;
  /** admin: nothing the person can do but tell their admin or help desk. */
  audience: 'user' | 'admin';
  /** true: the person can correct their input on the same step; false: the session is over. */
  recoverable: boolean;
}

const ADMIN: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ACCESS_DENIED',
  'UNKNOWN_TENANT',
  'KEY_PIN_MISSING',
  'KEY_PIN_MISMATCH',
  'BUNDLE_INVALID',
]);

const RECOVERABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'POLICY_VIOLATION',
  'INVALID_CREDENTIALS',
  'GATE_FAILED',
  'GATE_EXPIRED',
  'PASSWORD_TOO_LONG',
  'RATE_LIMITED',
  // Another method can be chosen on the same step.
  'SEND_UNAVAILABLE',
  'CONTACT_REFUSED',
  'REGISTRATION_INVALID',
]);

export function describeError(info: ErrorInfo): ErrorView {
  const view: ErrorView = {
    code: info.code,
    messageKey: `err_${info.code}`,
    nextKey: `next_${info.code}`,
    audience: ADMIN.has(info.code) ? 'admin' : 'user',
    recoverable: RECOVERABLE.has(info.code),
  };
  if (info.code === 'POLICY_VIOLATION') {
    view.reason = info.reason ?? 'unknown';
    view.reasonKey = `reason_${view.reason}`;
  }
  return view;
}

/** Normalises anything thrown by the protocol client into a code (and policy reason). */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; reason?: unknown; name?: unknown };
    if (isErrorCode(e.code)) {
      const reason = (POLICY_REASONS as readonly unknown[]).includes(e.reason) ? (e.reason as PolicyReason) : undefined;
      return reason ? { code: e.code, reason } : { code: e.code };
    }
    // protocol/crypto.ts's CryptoError: the secure channel broke.
    if (e.code === 'CRYPTO_FAILED') return { code: 'PROTOCOL_ERROR' };
    // The proof of work refused an absurd difficulty: the relay is overloaded or misbehaving.
    if (e.name === 'RangeError') return { code: 'RATE_LIMITED' };
    // A WebSocket that could not even be constructed (bad URL, CSP): the service is unreachable.
    if (e.name === 'SyntaxError' || e.name === 'SecurityError') return { code: 'AGENT_OFFLINE' };
  }
  return { code: 'INTERNAL' };
}

/** Every code, for tests and the translation check. */
export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];
