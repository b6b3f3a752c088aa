/**
 * Every error code a person or an admin can see, in one place, with the message we show when
 * nothing more specific is known. Codes are stable: the extension's translations, the terminal
 * client's --json output and docs/errors.md all key on them.
 */

export const ERROR_CODES = {
  AGENT_OFFLINE: 'The password service of your organisation is not reachable right now. Try again in a few minutes, or contact your help desk.',
  POLICY_VIOLATION: 'The new password does not meet your organisation\'s password rules.',
  INVALID_CREDENTIALS: 'The current password is not correct.',
  ACCESS_DENIED: 'The password service is not allowed to change this account. Your help desk must fix its permissions.',
  DIRECTORY_UNAVAILABLE: 'The directory could not be reached. Try again in a few minutes.',
  USER_PROTECTED: 'This account is protected (an administrator account) and cannot be reset here. Contact your help desk.',
  ACCOUNT_DISABLED: 'This account is disabled. Contact your help desk.',
  ACCOUNT_LOCKED: 'This account is locked, so its password cannot be changed. Unlock it or reset the password instead.',
  USER_NOT_FOUND: 'This account cannot use self-service (it is no longer in scope). Contact your help desk.',
  GATE_FAILED: 'That code or answer is not correct.',
  GATE_EXPIRED: 'That code has expired or was replaced by a newer one. Ask for a new code.',
  GATES_REQUIRED: 'Please complete the identity checks first.',
  TOO_MANY_ATTEMPTS: 'Too many attempts. Self-service is blocked for this account for a while; contact your help desk if you need help now.',
  NOT_ALLOWED: 'This action is not available for your account.',
  SEND_UNAVAILABLE: 'Codes by text message or call cannot be sent right now. Use another method, or try again tomorrow.',
  CONTACT_REFUSED: 'This phone number or address cannot be used here. Use another one, or contact your help desk.',
  REGISTRATION_INVALID: 'That registration was not accepted. Check what you entered and try again.',
  SESSION_EXPIRED: 'This session has expired. Please start again.',
  RATE_LIMITED: 'Too many requests. Please wait a moment and try again.',
  POW_INVALID: 'The security check failed. Please start again.',
  BAD_FRAME: 'The request was malformed.',
  BAD_REQUEST: 'The request was not understood.',
  UNKNOWN_TENANT: 'This organisation is not known to the relay. Your administrator must check the configured tenant.',
  PROTOCOL_ERROR: 'The secure connection to the password service failed. Please start again.',
  KEY_PIN_MISSING: 'The extension has no signing-key pin in policy, so it will not talk to the password service. Your administrator must deploy it.',
  KEY_PIN_MISMATCH: 'The password service presented a key that does not match the pinned key in policy. Your administrator must check the configuration.',
  BUNDLE_INVALID: 'The password service presented an invalid key bundle. Your administrator must check the agent.',
  PASSWORD_TOO_LONG: 'The password is too long.',
  INTERNAL: 'Something went wrong on our side. Try again, or contact your help desk.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Which password rule a POLICY_VIOLATION broke, when the directory says so. */
export const POLICY_REASONS = ['too_short', 'complexity', 'history', 'min_age', 'unknown'] as const;
export type PolicyReason = (typeof POLICY_REASONS)[number];

export const POLICY_REASON_MESSAGES: Record<PolicyReason, string> = {
  too_short: 'The new password is too short.',
  complexity: 'The new password must mix character kinds (upper case, lower case, digits, symbols) and must not contain your name.',
  history: 'The new password was used before. Choose one you have not used.',
  min_age: 'The password was changed too recently and cannot be changed again yet.',
  unknown: 'The new password does not meet your organisation\'s password rules.',
};

/** The one error type that crosses room boundaries: a stable code plus a message for a person. */
export class UnlatchError extends Error {
  override readonly name = 'UnlatchError';
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code],
    readonly reason?: PolicyReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
