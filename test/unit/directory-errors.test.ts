import assert from 'node:assert/strict';
import {
  BusyError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  UnavailableError,
  UnwillingToPerformError,
} from 'ldapts';
import {
  adDataCode,
  DirectoryError,
  inferPolicyReason,
  isUnavailable,
  needsPolicyForReason,
  reasonFromMessage,
  toDirectoryError,
  win32Code,
  type ErrorContext,
} from '../../agent/directory/errors.ts';
import type { PasswordPolicy } from '../../agent/directory/policy.ts';
import { ERROR_CODES } from '../../protocol/errors.ts';

const policy: PasswordPolicy = {
  minLength: 8,
  complexity: true,
  historyLength: 24,
  minAgeSeconds: 86400,
  maxAgeSeconds: 42 * 86400,
  lockoutThreshold: 3,
  lockoutDurationSeconds: 1800,
  lockoutWindowSeconds: 1800,
  source: 'domain',
};

const SAMBA = {
  short: '0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 8 characters!',
  complex: '0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!',
  history: '0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!',
  young: '0000052D: Constraint violation - check_password_restrictions: password is too young to change!',
  oldWrong: "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!",
  noWrite: '00002098: Object CN=x,OU=People,DC=unlatch,DC=test has no write property access\n',
  aclModule: 'error in module acl: insufficient access rights during LDB_MODIFY (50)',
  bind52e: '80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1',
};
const WINDOWS = {
  resetRefused: '0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0\n',
  changeRefused: '0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n',
  oldWrong: '00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n',
  accessDenied: '00000005: SecErr: DSID-031A11E8, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0\n',
};

function map(err: unknown, ctx: Partial<ErrorContext> = {}): DirectoryError {
  return toDirectoryError(err, { op: 'change', dc: 'ldaps://dc1.corp.example', ...ctx });
}

function netError(code: string, message = `connect ${code} 10.0.0.1:636`): Error {
  return Object.assign(new Error(message), { code });
}

describe('directory errors: low-level failures → product codes', () => {
  describe('DirectoryError', () => {
    it('has a name, a code, a person-facing message, an admin detail and keeps the cause', () => {
      const cause = new Error('low level');
      const e = new DirectoryError('POLICY_VIOLATION', { reason: 'history', detail: 'change on dc1: ...', cause });
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'DirectoryError');
      assert.equal(e.code, 'POLICY_VIOLATION');
      assert.equal(e.reason, 'history');
      assert.equal(e.message, ERROR_CODES.POLICY_VIOLATION);
      assert.equal(e.detail, 'change on dc1: ...');
      assert.equal(e.cause, cause);
      assert.equal(new DirectoryError('USER_NOT_FOUND').reason, undefined);
    });

    it('passes through a DirectoryError unchanged', () => {
      const e = new DirectoryError('USER_PROTECTED');
      assert.equal(map(e), e);
    });
  });

  describe('parsing AD diagnostic messages', () => {
    it('reads the Win32 code at the start and the bind data code', () => {
      assert.equal(win32Code(SAMBA.short), 0x52d);
      assert.equal(win32Code(WINDOWS.oldWrong), 0x56);
      assert.equal(win32Code('no code here'), undefined);
      assert.equal(adDataCode(SAMBA.bind52e), '52e');
      assert.equal(adDataCode('... data 775, v1db1'), '775');
      assert.equal(adDataCode('nothing'), undefined);
    });

    it('names the rule when Samba says which', () => {
      assert.equal(reasonFromMessage(SAMBA.short), 'too_short');
      assert.equal(reasonFromMessage(SAMBA.complex), 'complexity');
      assert.equal(reasonFromMessage(SAMBA.history), 'history');
      assert.equal(reasonFromMessage(SAMBA.young), 'min_age');
      assert.equal(reasonFromMessage(WINDOWS.resetRefused), undefined);
    });
  });

  describe('POLICY_VIOLATION', () => {
    it("maps Samba's constraint violations with the rule it names", () => {
      for (const [msg, reason] of [
        [SAMBA.short, 'too_short'],
        [SAMBA.complex, 'complexity'],
        [SAMBA.history, 'history'],
        [SAMBA.young, 'min_age'],
      ] as const) {
        const e = map(new ConstraintViolationError(msg));
        assert.equal(e.code, 'POLICY_VIOLATION');
        assert.equal(e.reason, reason, msg);
        assert.match(e.detail, /^change on ldaps:\/\/dc1\.corp\.example: /);
      }
    });

    it('works out the rule from the policy when a Windows DC only says 0000052D', () => {
      const reset = new UnwillingToPerformError(WINDOWS.resetRefused);
      const change = new ConstraintViolationError(WINDOWS.changeRefused);
      assert.equal(needsPolicyForReason(reset), true);
      assert.equal(needsPolicyForReason(new ConstraintViolationError(SAMBA.short)), false);
      const user = { sam: 'alice', displayName: 'Alice Example', pwdLastSet: new Date(Date.now() - 7 * 86400_000) };
      const ctx = (op: 'reset' | 'change', newPassword: string, extra: Partial<ErrorContext> = {}) => ({ op, policy, newPassword, user, ...extra });
      assert.equal(map(reset, ctx('reset', 'Ab1!')).reason, 'too_short');
      assert.equal(map(reset, ctx('reset', 'onlylowercase')).reason, 'complexity');
      assert.equal(map(reset, ctx('reset', 'Xy1!alice-rocks')).reason, 'complexity', 'contains the account name');
      assert.equal(map(reset, ctx('reset', 'Xy1!example-rocks')).reason, 'complexity', 'contains a display-name token');
      assert.equal(map(reset, ctx('reset', 'Perfectly-Fine-1')).reason, 'unknown', 'a plain reset does not check history');
      assert.equal(map(reset, ctx('reset', 'Perfectly-Fine-1', { historyEnforced: true })).reason, 'history');
      assert.equal(map(change, ctx('change', 'Perfectly-Fine-1')).reason, 'history');
      const recent = { ...user, pwdLastSet: new Date(Date.now() - 3600_000) };
      assert.equal(map(change, ctx('change', 'Perfectly-Fine-1', { user: recent })).reason, 'min_age');
      assert.equal(map(change, { op: 'change' }).reason, 'unknown', 'no policy known');
      for (const e of [map(reset, ctx('reset', 'x')), map(change, ctx('change', 'x'))]) assert.equal(e.code, 'POLICY_VIOLATION');
    });

    it('picks the reason from the local rules directly', () => {
      assert.equal(inferPolicyReason({ op: 'change', policy: { ...policy, historyLength: 0 }, newPassword: 'Perfectly-Fine-1' }), 'unknown');
    });
  });

  describe('INVALID_CREDENTIALS', () => {
    it('is a wrong old password on a change (Samba and Windows wording)', () => {
      assert.equal(map(new ConstraintViolationError(SAMBA.oldWrong)).code, 'INVALID_CREDENTIALS');
      assert.equal(map(new ConstraintViolationError(WINDOWS.oldWrong)).code, 'INVALID_CREDENTIALS');
    });

    it("is a failed bind as the user when verifying a password", () => {
      assert.equal(map(new InvalidCredentialsError(SAMBA.bind52e), { op: 'verify' }).code, 'INVALID_CREDENTIALS');
    });
  });

  describe('ACCOUNT_LOCKED', () => {
    it('is a change on a locked-out account', () => {
      const e = map(new ConstraintViolationError('00000775: Password change not permitted, account locked out! at ../../source4/dsdb/samdb/ldb_modules/password_hash.c:3929:setup_io'));
      assert.equal(e.code, 'ACCOUNT_LOCKED');
      assert.equal(e.reason, undefined);
    });
  });

  describe('ACCESS_DENIED (an admin problem)', () => {
    it('is insufficient rights, in every wording', () => {
      for (const err of [
        new InsufficientAccessError(SAMBA.noWrite),
        new InsufficientAccessError(SAMBA.aclModule),
        new InsufficientAccessError(WINDOWS.accessDenied),
        new UnwillingToPerformError(WINDOWS.accessDenied),
      ]) {
        const e = map(err, { op: 'reset' });
        assert.equal(e.code, 'ACCESS_DENIED', err.message);
        assert.match(e.detail, /lacks a delegated right/);
      }
    });

    it("is the service account's own failed bind, with what AD said", () => {
      const e = map(new InvalidCredentialsError(SAMBA.bind52e), { op: 'connect' });
      assert.equal(e.code, 'ACCESS_DENIED');
      assert.match(e.detail, /data 52e: wrong password/);
      assert.match(map(new InvalidCredentialsError('... data 775, v1db1'), { op: 'bind' }).detail, /locked out/);
    });
  });

  describe('DIRECTORY_UNAVAILABLE', () => {
    it('is a DC that cannot be reached, is slow, busy, or drops the connection', () => {
      const errors: unknown[] = [
        netError('ECONNREFUSED'),
        netError('ETIMEDOUT'),
        netError('EHOSTUNREACH'),
        netError('ENOTFOUND', 'getaddrinfo ENOTFOUND dc9.corp.example'),
        netError('ECONNRESET', 'read ECONNRESET'),
        new Error('Connection timeout'),
        new Error('ModifyRequest: Operation timed out'),
        new Error('Connection closed before message response was received. Message type: SearchRequest (0x63)'),
        new Error('Socket connection not established'),
        new BusyError(),
        new UnavailableError(),
      ];
      for (const err of errors) {
        assert.equal(isUnavailable(err), true, String(err));
        assert.equal(map(err).code, 'DIRECTORY_UNAVAILABLE', String(err));
      }
    });

    it('is a TLS failure, with a hint about the CA and name', () => {
      for (const err of [
        netError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
        netError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
        netError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
        netError('CERT_HAS_EXPIRED', 'certificate has expired'),
      ]) {
        const e = map(err, { op: 'connect' });
        assert.equal(e.code, 'DIRECTORY_UNAVAILABLE');
        assert.match(e.detail, /TLS failed .*check the CA file/);
      }
    });
  });

  describe('other codes', () => {
    it('USER_NOT_FOUND when the user vanished before a write; INTERNAL for a bad search base', () => {
      assert.equal(map(new NoSuchObjectError('0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT)'), { op: 'reset' }).code, 'USER_NOT_FOUND');
      const e = map(new NoSuchObjectError('no such base'), { op: 'search' });
      assert.equal(e.code, 'INTERNAL');
      assert.match(e.detail, /baseDN/);
    });

    it('INTERNAL for anything unexpected', () => {
      assert.equal(map(new Error('something odd')).code, 'INTERNAL');
      assert.equal(map('a string').code, 'INTERNAL');
      assert.equal(map(new ConstraintViolationError('some other constraint'), { op: 'search' }).code, 'INTERNAL');
      assert.equal(isUnavailable(new Error('something odd')), false);
    });
  });

  describe('detail', () => {
    it('never contains a secret, even if the server echoed it', () => {
      const secret = 'Sup3r-Secret!pw';
      const e = map(new ConstraintViolationError(`0000052D: password ${secret} is too short`), {
        op: 'reset',
        newPassword: secret,
        secrets: [secret, undefined],
      });
      assert.ok(!e.detail.includes(secret));
      assert.match(e.detail, /\[redacted\]/);
      assert.ok(!e.message.includes(secret));
    });

    it('is one line and bounded', () => {
      const e = map(new ConstraintViolationError(`${WINDOWS.changeRefused}${'x'.repeat(2000)}`));
      assert.ok(!e.detail.includes('\n'));
      assert.ok(e.detail.length <= 501);
    });
  });
});
