/**
 * What "proven" means: how many checks a person must pass, with which methods, and when the
 * passed ones are enough. Pure functions, so the rules read in one place.
 *
 * - 1 or 2 checks (`gates.required`); members of the privileged groups get the stricter
 *   `gates.privileged` policy (by default 2 checks and no security questions).
 * - Two checks must be of two different kinds: an SMS and a call to the same phone prove the
 *   same possession, so sms and voice are one kind ("phone").
 * - Security questions are never enough on their own: at least one passed check must be a
 *   possession factor (a code or an authenticator app).
 * - A kind once passed is no longer offered.
 */
import type { GateMethod } from '../../protocol/messages.ts';

export type GateKind = 'email' | 'phone' | 'totp' | 'questions';

export function kindOf(method: GateMethod): GateKind {
  return method === 'sms' || method === 'voice' ? 'phone' : method;
}

export interface UserPolicy {
  required: number;
  questionsAllowed: boolean;
  privileged: boolean;
}

export interface PolicySettings {
  required: number;
  privileged: { required: number; questions: boolean };
}

export function policyFor(settings: PolicySettings, privileged: boolean): UserPolicy {
  return privileged
    ? { required: Math.max(settings.required, settings.privileged.required), questionsAllowed: settings.privileged.questions, privileged }
    : { required: settings.required, questionsAllowed: true, privileged };
}

/** Checks still to pass, given the kinds passed so far. */
export function remaining(required: number, passed: ReadonlySet<GateKind>): number {
  const possession = [...passed].some((k) => k !== 'questions');
  return Math.max(required - passed.size, possession ? 0 : 1);
}

/** Whether gates of these kinds can ever satisfy the policy. */
export function satisfiable(required: number, kinds: ReadonlySet<GateKind>): boolean {
  const possession = [...kinds].filter((k) => k !== 'questions').length;
  return possession >= 1 && kinds.size >= required;
}
