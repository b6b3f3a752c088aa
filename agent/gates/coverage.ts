/**
 * Registration coverage: of the people self-service is for, how many could prove who they are
 * today — from the contact data the directory holds for them and what they registered
 * themselves — judged by the same policy and the same code (Gates.kindsOnFile) as a reset.
 * Who could not is listed by account name, so that an admin can ask exactly them to register.
 *
 * A snapshot of now, not of a period: registrations are state, not events.
 */
import type { DirectoryUser } from '../directory/index.ts';
import type { AgentStore } from '../store/index.ts';
import type { Gates } from './index.ts';
import { satisfiable, type GateKind } from './policy.ts';
import { subjectOf } from './subject.ts';

export const GATE_KINDS: readonly GateKind[] = ['email', 'phone', 'totp', 'questions'];

export interface Coverage {
  /** When it was measured. */
  at: string;
  /** Enabled, unprotected accounts in scope: the people self-service is for. */
  eligible: number;
  /** Of those, who can pass the checks their policy asks for. */
  ready: number;
  notReady: number;
  /** ready / eligible, in percent with one decimal (100 when nobody is eligible). */
  percentReady: number;
  /** Registered something themselves (a method or security answers). */
  selfRegistered: number;
  /** Per kind of check, how many eligible people have it on file. */
  methods: { kind: GateKind; users: number }[];
  /** Members of the privileged groups, who must pass the stricter policy. */
  privileged: { eligible: number; ready: number };
  /** In scope but refused by self-service whatever they register. */
  excluded: { disabled: number; protected: number };
  /** Who cannot use self-service yet, by account name, and what they do have. */
  notReadyUsers: { user: string; privileged: boolean; has: GateKind[] }[];
}

export async function measureCoverage(users: readonly DirectoryUser[], gates: Gates, store: AgentStore, now: Date): Promise<Coverage> {
  const perKind = new Map<GateKind, number>(GATE_KINDS.map((k) => [k, 0]));
  const notReadyUsers: Coverage['notReadyUsers'] = [];
  let eligible = 0;
  let ready = 0;
  let selfRegistered = 0;
  let disabled = 0;
  let isProtected = 0;
  const privileged = { eligible: 0, ready: 0 };
  for (const user of users) {
    if (user.disabled) {
      disabled++;
      continue;
    }
    if (user.protected) {
      isProtected++;
      continue;
    }
    eligible++;
    const subject = subjectOf(user);
    const registration = await store.registration(subject);
    if (registration.methods.length > 0 || registration.answers.length > 0) selfRegistered++;
    const policy = gates.policy(user.privileged);
    const kinds = gates.kindsOnFile(subject, user, registration, policy);
    for (const k of kinds) perKind.set(k, (perKind.get(k) ?? 0) + 1);
    const canPass = satisfiable(policy.required, kinds);
    if (user.privileged) privileged.eligible++;
    if (canPass) {
      ready++;
      if (user.privileged) privileged.ready++;
    } else {
      notReadyUsers.push({ user: user.sam || user.dn, privileged: user.privileged, has: GATE_KINDS.filter((k) => kinds.has(k)) });
    }
  }
  notReadyUsers.sort((a, b) => a.user.localeCompare(b.user));
  return {
    at: now.toISOString(),
    eligible,
    ready,
    notReady: eligible - ready,
    percentReady: eligible === 0 ? 100 : Math.round((ready / eligible) * 1000) / 10,
    selfRegistered,
    methods: GATE_KINDS.map((kind) => ({ kind, users: perKind.get(kind) ?? 0 })),
    privileged,
    excluded: { disabled, protected: isProtected },
    notReadyUsers,
  };
}
