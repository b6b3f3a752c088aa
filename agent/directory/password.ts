/**
 * The three writes: reset, change, unlock. Each is ONE LDAP modify request, so the DC applies
 * all of it or none of it (AD runs a modify in one database transaction).
 *
 *   reset   replace unicodePwd, replace lockoutTime=0, replace pwdLastSet=-1
 *           (+ the policy-hints control when the DC advertises it: history on resets too)
 *   change  delete unicodePwd <old> + add unicodePwd <new>  (the DC checks old, history, age)
 *   unlock  replace lockoutTime=0
 *
 * unicodePwd is the password in double quotes, UTF-16LE; AD only accepts it over an encrypted
 * connection (LDAPS here). Setting any password also sets pwdLastSet to "now", so -1 in a
 * reset only makes "must change at next logon" cleared explicitly; a reset is an admin-style set
 * and is not subject to the minimum password age.
 *
 * Verified against Samba 4.17: all three changes in one modify work with the delegated rights
 * (Reset Password, write lockoutTime, write pwdLastSet); without write on lockoutTime the whole
 * request fails with insufficientAccessRights and nothing is written (password unchanged, still
 * locked). Some DCs check the Unexpire-Password right on the domain for pwdLastSet=-1; Samba
 * 4.17 does not for this request.
 */
import { Attribute, BerWriter, Change, Control, type Client } from 'ldapts';
import { DirectoryError } from './errors.ts';

/** LDAP_SERVER_POLICY_HINTS_OID (Windows Server 2012 R2 and later). */
export const POLICY_HINTS_OID = '1.2.840.113556.1.4.2239';
/** LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID (Windows Server 2008 R2 / 2012 with hotfix). */
export const POLICY_HINTS_DEPRECATED_OID = '1.2.840.113556.1.4.2066';

/** Longest password AD accepts (characters). */
export const MAX_PASSWORD_LENGTH = 256;

/**
 * The policy-hints control: value PolicyHintsRequestValue ::= SEQUENCE { Flags INTEGER } with
 * Flags = 1 (enforce password history, minimum age... as on a change). Sent critical: the DC
 * advertised it, and silently resetting to a password from history is worse than failing.
 */
export class PolicyHintsControl extends Control {
  constructor(oid: string = POLICY_HINTS_OID) {
    super(oid, { critical: true });
  }

  protected override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(1);
    value.endSequence();
    writer.writeBuffer(value.buffer, 0x04);
  }
}

/** The policy-hints control the DC supports (newest first), or undefined. */
export function policyHintsFor(supportedControls: readonly string[]): PolicyHintsControl | undefined {
  if (supportedControls.includes(POLICY_HINTS_OID)) return new PolicyHintsControl(POLICY_HINTS_OID);
  if (supportedControls.includes(POLICY_HINTS_DEPRECATED_OID)) return new PolicyHintsControl(POLICY_HINTS_DEPRECATED_OID);
  return undefined;
}

/** "password" in quotes, UTF-16LE: the only form of unicodePwd AD accepts. */
export function encodeUnicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/**
 * Refuses, before anything is sent, a value that can never be a password: empty, longer than
 * AD allows, or with a NUL. A new password gets POLICY_VIOLATION, an old one
 * INVALID_CREDENTIALS. The value itself is never echoed.
 */
export function assertPasswordShape(password: string, field: 'newPassword' | 'oldPassword'): void {
  let problem: string | undefined;
  if (typeof password !== 'string' || password.length === 0) problem = 'is empty';
  else if (password.length > MAX_PASSWORD_LENGTH) problem = `is longer than ${MAX_PASSWORD_LENGTH} characters`;
  else if (password.includes('\u0000')) problem = 'contains a NUL character';
  if (!problem) return;
  if (field === 'oldPassword') throw new DirectoryError('INVALID_CREDENTIALS', { detail: `change: the old password ${problem}` });
  throw new DirectoryError('POLICY_VIOLATION', {
    reason: password.length === 0 ? 'too_short' : 'unknown',
    detail: `the new password ${problem}`,
  });
}

function replace(type: string, values: Array<string | Buffer>): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: values as string[] | Buffer[] }) });
}

/** The changes of a reset: one modify request, in this order. */
export function resetChanges(newPassword: string): Change[] {
  return [replace('unicodePwd', [encodeUnicodePwd(newPassword)]), replace('lockoutTime', ['0']), replace('pwdLastSet', ['-1'])];
}

/** The changes of a change: delete the old value, add the new one. */
export function changeChanges(oldPassword: string, newPassword: string): Change[] {
  return [
    new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [encodeUnicodePwd(oldPassword)] }) }),
    new Change({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [encodeUnicodePwd(newPassword)] }) }),
  ];
}

export async function resetPassword(
  client: Client,
  dn: string,
  newPassword: string,
  supportedControls: readonly string[],
): Promise<{ control?: string }> {
  assertPasswordShape(newPassword, 'newPassword');
  const hints = policyHintsFor(supportedControls);
  await client.modify(dn, resetChanges(newPassword), hints ? [hints] : undefined);
  return hints ? { control: hints.type } : {};
}

export async function changePassword(client: Client, dn: string, oldPassword: string, newPassword: string): Promise<void> {
  assertPasswordShape(oldPassword, 'oldPassword');
  assertPasswordShape(newPassword, 'newPassword');
  await client.modify(dn, changeChanges(oldPassword, newPassword));
}

export async function unlockAccount(client: Client, dn: string): Promise<void> {
  await client.modify(dn, replace('lockoutTime', ['0']));
}
