/**
 * What a session needs from the directory, as an interface: the session logic can be read
 * (and unit tested) without LDAP, and agent/directory/ stays the only code that speaks it.
 */
import type { PasswordPolicyView } from '../../protocol/messages.ts';

export interface SessionUser {
  dn: string;
  sam: string;
  upn?: string | undefined;
  displayName?: string | undefined;
  mail: string[];
  mobile?: string | undefined;
  telephoneNumber?: string | undefined;
  otherMailbox?: string[] | undefined;
  /** Extra attributes read for the admin's contact mapping. */
  attributes?: Record<string, string[]> | undefined;
  /** objectGUID (hex): keys the person's registration and throttles, stable across renames. */
  guid?: string | undefined;
  inScope: boolean;
  protected: boolean;
  disabled: boolean;
  /** Member of a privileged group: the stricter gate policy applies. */
  privileged?: boolean | undefined;
}

export interface DirectoryPort<U extends SessionUser = SessionUser> {
  /** null when no single user matches. Costs the same LDAP work either way. */
  findUser(id: string): Promise<U | null>;
  /** The effective policy for the user, or the domain's when there is no user. */
  policyFor(user: U | null): Promise<PasswordPolicyView>;
  reset(user: U, newPassword: string): Promise<void>;
  change(user: U, oldPassword: string, newPassword: string): Promise<void>;
  unlock(user: U): Promise<void>;
  /** Checks a password with a bind as the user; a wrong one counts like a failed sign-in. */
  verifyPassword(user: U, password: string): Promise<boolean>;
}
