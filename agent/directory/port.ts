/**
 * Adapts the Directory to the session flow's DirectoryPort (agent/session/ports.ts): the
 * session logic sees users and policies, never LDAP.
 */
import type { PasswordPolicyView } from '../../protocol/messages.ts';
import type { DirectoryPort } from '../session/ports.ts';
import type { Directory, DirectoryUser, PasswordPolicy } from './index.ts';

/** The policy fields a client is shown (no lockout details, no DNs). */
export function policyView(p: PasswordPolicy): PasswordPolicyView {
  return {
    minLength: p.minLength,
    complexity: p.complexity,
    historyLength: p.historyLength,
    minAgeSeconds: p.minAgeSeconds,
    maxAgeSeconds: p.maxAgeSeconds,
  };
}

export function directoryPort(directory: Directory): DirectoryPort<DirectoryUser> {
  return {
    findUser: (id) => directory.findUser(id),
    policyFor: async (user) => policyView(await directory.policyFor(user)),
    reset: async (user, newPassword) => {
      await directory.reset(user, newPassword);
    },
    change: async (user, oldPassword, newPassword) => {
      await directory.change(user, oldPassword, newPassword);
    },
    unlock: async (user) => {
      await directory.unlock(user);
    },
    verifyPassword: (user, password) => directory.verifyPassword(user, password),
  };
}
