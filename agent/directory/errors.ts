/**
 * The ONE place where low-level directory failures (ldapts result codes, AD extended errors,
 * socket and TLS errors) become stable product codes.
 *
 * AD puts its real reason in the diagnostic message: a Win32 error as 8 hex digits at the start
 * ("0000052D: ..." = ERROR_PASSWORD_RESTRICTION) and, for binds, a `data` code ("... data 775,
 * v1db1" = locked out). Windows DCs say nothing more specific for a policy refusal; Samba names
 * the rule ("... the password is too short ..."). When the message does not say, the reason is
 * worked out by checking the new password against the known policy.
 *
 * Seen on Samba 4.17 (LDAP result code 19 unless noted):
 *   0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 8 characters!
 *   0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!
 *   0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!
 *   0000052D: Constraint violation - check_password_restrictions: password is too young to change!
 *   00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!
 *   00000775: Password change not permitted, account locked out! at ../../source4/dsdb/...   (a change while locked)
 *   00002098: Object CN=...,OU=People,DC=... has no write property access                    (50)
 *   error in module acl: insufficient access rights during LDB_MODIFY (50)                      (50)
 *   80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1     (49, bind)
 * Windows DCs (for reference): a refused reset is 53 "0000052D: SvcErr: DSID-031A12D2, problem
 * 5003 (WILL_NOT_PERFORM), data 0"; a refused change is 19 "0000052D: AtrErr: DSID-03191083 ...
 * Att 9005a (unicodePwd)"; a wrong old password is 19 "00000056: AtrErr: ...".
 */
import { ResultCodeError } from 'ldapts';
import { ERROR_CODES, type PolicyReason } from '../../protocol/errors.ts';
import type { PasswordPolicy } from './policy.ts';
import { checkPasswordRules, type PasswordOwner } from './rules.ts';

export type { PolicyReason };

export const DIRECTORY_ERROR_CODES = [
  'POLICY_VIOLATION',
  'INVALID_CREDENTIALS',
  'ACCESS_DENIED',
  'DIRECTORY_UNAVAILABLE',
  'USER_PROTECTED',
  'ACCOUNT_DISABLED',
  /** Not in the brief's list: a change on a locked-out account (the DC refuses it). */
  'ACCOUNT_LOCKED',
  'USER_NOT_FOUND',
  'INTERNAL',
] as const;

export type DirectoryErrorCode = (typeof DIRECTORY_ERROR_CODES)[number];

const MESSAGES: Record<DirectoryErrorCode, string> = {
  POLICY_VIOLATION: ERROR_CODES.POLICY_VIOLATION,
  INVALID_CREDENTIALS: ERROR_CODES.INVALID_CREDENTIALS,
  ACCESS_DENIED: ERROR_CODES.ACCESS_DENIED,
  DIRECTORY_UNAVAILABLE: ERROR_CODES.DIRECTORY_UNAVAILABLE,
  USER_PROTECTED: ERROR_CODES.USER_PROTECTED,
  ACCOUNT_DISABLED: ERROR_CODES.ACCOUNT_DISABLED,
  ACCOUNT_LOCKED: 'This account is locked out. Unlock it or reset the password first.',
  USER_NOT_FOUND: 'No such user.',
  INTERNAL: ERROR_CODES.INTERNAL,
};

/**
 * A directory failure with a stable `code` (and `reason` for POLICY_VIOLATION). `message` is
 * safe to show to a person; `detail` is for the admin (DC, operation, server text) and never
 * holds a password; `cause` keeps the original error.
 */
export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
  readonly code: DirectoryErrorCode;
  readonly reason?: PolicyReason;
  readonly detail: string;

  constructor(
    code: DirectoryErrorCode,
    options: { reason?: PolicyReason | undefined; detail?: string | undefined; cause?: unknown; message?: string } = {},
  ) {
    super(options.message ?? MESSAGES[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.reason) this.reason = options.reason;
    this.detail = options.detail ?? MESSAGES[code];
  }
}

export type DirectoryOperation = 'connect' | 'bind' | 'search' | 'reset' | 'change' | 'unlock' | 'verify' | 'policy';

export interface ErrorContext {
  op: DirectoryOperation;
  /** The DC (URL) the operation went to. */
  dc?: string | undefined;
  /** Known policy of the user, to explain a generic policy refusal. */
  policy?: PasswordPolicy | undefined;
  /** The new password (only used to explain a policy refusal; never copied anywhere). */
  newPassword?: string | undefined;
  user?: (PasswordOwner & { pwdLastSet?: Date | null | undefined }) | undefined;
  /** True when the write asked the DC to enforce history (policy hints control). */
  historyEnforced?: boolean | undefined;
  /** Strings that must never appear in `detail` (passwords). */
  secrets?: Array<string | undefined> | undefined;
  now?: number | undefined;
}

/** The Win32 error at the start of an AD diagnostic message: "0000052D: ..." → 0x52d. */
export function win32Code(message: string): number | undefined {
  const m = /^\s*([0-9A-F]{8}):/i.exec(message);
  return m?.[1] ? Number.parseInt(m[1], 16) : undefined;
}

/** The `data` code of an AD bind error: "... data 775, v1db1" → '775'. */
export function adDataCode(message: string): string | undefined {
  const m = /\bdata ([0-9a-f]{1,8})\b/i.exec(message);
  return m?.[1]?.toLowerCase();
}

const WIN32 = {
  ACCESS_DENIED: 0x5,
  INVALID_PASSWORD: 0x56,
  PASSWORD_RESTRICTION: 0x52d,
  ACCOUNT_LOCKED_OUT: 0x775,
  DS_INSUFF_ACCESS_RIGHTS: 0x2098,
} as const;

const BIND_DATA: Record<string, string> = {
  '525': 'no such account',
  '52e': 'wrong password',
  '530': 'not permitted to log on at this time',
  '531': 'not permitted to log on from this workstation',
  '532': 'password expired',
  '533': 'account disabled',
  '568': 'too many security IDs',
  '701': 'account expired',
  '773': 'must change password',
  '775': 'account locked out',
};

/** Bind `data` codes that AD only returns after the password was found correct. */
export const PASSWORD_CORRECT_BIND_CODES: ReadonlySet<string> = new Set(['530', '531', '532', '533', '568', '701', '773']);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EADDRNOTAVAIL',
]);

const UNAVAILABLE_MESSAGES = [
  /connection timeout/i,
  /operation timed out/i,
  /connection closed/i,
  /socket (error|connection not established|hang up)/i,
  /client network socket disconnected/i,
  /read ECONNRESET/i,
];

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isTlsError(err: unknown): boolean {
  const code = errnoCode(err) ?? '';
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return true;
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME/.test(code)) return true;
  const message = (err as Error | null)?.message ?? '';
  return /certificate|self[- ]signed|altnames|SSL routines|handshake/i.test(message);
}

/**
 * True for failures of the connection rather than of the operation: the DC is down,
 * unreachable, too slow, busy, or the connection dropped. A connection that failed this way is
 * not reused.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DirectoryError) return err.code === 'DIRECTORY_UNAVAILABLE';
  if (err instanceof ResultCodeError) return err.code === 51 || err.code === 52 || err.code === 3;
  const code = errnoCode(err);
  if (code && NETWORK_CODES.has(code)) return true;
  if (isTlsError(err)) return true;
  const message = (err as Error | null)?.message ?? '';
  return UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/** Reason named by the server's message (Samba names it; Windows does not). */
export function reasonFromMessage(message: string): PolicyReason | undefined {
  if (/too short|minimum (password )?length|PASSWORD_TOO_SHORT/i.test(message)) return 'too_short';
  if (/complex/i.test(message)) return 'complexity';
  if (/history|already used|PASSWORD_HISTORY/i.test(message)) return 'history';
  if (/too young|minimum (password )?age/i.test(message)) return 'min_age';
  return undefined;
}

/** The rule a refused password most likely broke, when the server did not say. */
export function inferPolicyReason(ctx: ErrorContext): PolicyReason {
  const { policy, newPassword } = ctx;
  if (!policy || newPassword === undefined) return 'unknown';
  const failures = checkPasswordRules(policy, newPassword, ctx.user ?? {});
  if (failures.includes('too_short')) return 'too_short';
  if (failures.includes('complexity')) return 'complexity';
  const lastSet = ctx.user?.pwdLastSet;
  if (ctx.op === 'change' && policy.minAgeSeconds > 0 && lastSet) {
    if ((ctx.now ?? Date.now()) - lastSet.getTime() < policy.minAgeSeconds * 1000) return 'min_age';
  }
  // What is left that a DC checks is the history (on a change, or a reset with policy hints),
  // or a password filter we cannot see.
  if (policy.historyLength > 0 && (ctx.op === 'change' || ctx.historyEnforced)) return 'history';
  return 'unknown';
}

/** True when mapping this error needs the user's policy to find the reason. */
export function needsPolicyForReason(err: unknown): boolean {
  if (!(err instanceof ResultCodeError)) return false;
  const msg = err.message;
  return win32Code(msg) === WIN32.PASSWORD_RESTRICTION && reasonFromMessage(msg) === undefined;
}

function scrub(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 1) out = out.split(s).join('[redacted]');
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = errnoCode(err);
    const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
    return `${name}${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(err);
}

/** Maps any failure of a directory operation to a DirectoryError. */
export function toDirectoryError(err: unknown, ctx: ErrorContext): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const where = `${ctx.op}${ctx.dc ? ` on ${ctx.dc}` : ''}`;
  const detail = (what: string) => scrub(`${where}: ${what}`, ctx.secrets);
  const make = (code: DirectoryErrorCode, what: string, reason?: PolicyReason) =>
    new DirectoryError(code, { detail: detail(what), cause: err, reason });

  if (!(err instanceof ResultCodeError)) {
    if (isTlsError(err)) {
      return make('DIRECTORY_UNAVAILABLE', `TLS failed (${describe(err)}); check the CA file and the DC's certificate name`);
    }
    if (isUnavailable(err)) return make('DIRECTORY_UNAVAILABLE', describe(err));
    return make('INTERNAL', describe(err));
  }

  const message = err.message;
  const win32 = win32Code(message);
  const passwordOp = ctx.op === 'reset' || ctx.op === 'change';

  if (win32 === WIN32.PASSWORD_RESTRICTION) {
    return make('POLICY_VIOLATION', message, reasonFromMessage(message) ?? inferPolicyReason(ctx));
  }
  if (win32 === WIN32.INVALID_PASSWORD) return make('INVALID_CREDENTIALS', message);
  if (win32 === WIN32.ACCOUNT_LOCKED_OUT) return make('ACCOUNT_LOCKED', message);
  if (win32 === WIN32.ACCESS_DENIED || win32 === WIN32.DS_INSUFF_ACCESS_RIGHTS) {
    return make('ACCESS_DENIED', `${message} (the service account lacks a delegated right)`);
  }

  switch (err.code) {
    case 19: // constraintViolation
      if (passwordOp) return make('POLICY_VIOLATION', message, reasonFromMessage(message) ?? inferPolicyReason(ctx));
      return make('INTERNAL', message);
    case 49: {
      // invalidCredentials: a user's password (verify) or the service account's own bind.
      const data = adDataCode(message);
      if (ctx.op === 'verify') return make('INVALID_CREDENTIALS', message);
      return make(
        'ACCESS_DENIED',
        `the service account could not bind (${data ? `data ${data}: ${BIND_DATA[data] ?? 'unknown'}` : message})`,
      );
    }
    case 50: // insufficientAccessRights
      return make('ACCESS_DENIED', `${message} (the service account lacks a delegated right)`);
    case 32: // noSuchObject
      if (ctx.op === 'reset' || ctx.op === 'change' || ctx.op === 'unlock' || ctx.op === 'verify') {
        return make('USER_NOT_FOUND', message);
      }
      return make('INTERNAL', `${message} (check baseDN and scopeGroupDN)`);
    case 3: // timeLimitExceeded
    case 51: // busy
    case 52: // unavailable
      return make('DIRECTORY_UNAVAILABLE', message);
    case 8: // strongAuthRequired
    case 13: // confidentialityRequired
      return make('INTERNAL', `${message} (the DC wants a stronger connection; use ldaps://)`);
    default:
      return make('INTERNAL', `${describe(err)}`);
  }
}
