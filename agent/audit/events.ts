/**
 * Which events become audit records, and how: the events that say who did what and how it ended
 * (31001-31010 reset, change and unlock; 31022-31024 gates and blocks; 31060-31062 registration:
 * who may prove themselves with what is as sensitive as a reset). Fields are taken from an
 * allowlist and checked, so a field an event carries for the operator's log (an SMTP error
 * message, a contact address, …) can never reach the audit log.
 */
import { isErrorCode, POLICY_REASONS } from '../../protocol/errors.ts';
import { EVENTS, type EventFields, type EventName } from '../events.ts';
import { SID_PREFIX_LENGTH, type AuditAction, type AuditEntry, type AuditOutcome } from './record.ts';

/** Audited events: action and outcome of each (`null` action: taken from the event's `action` field). */
const AUDITED: Partial<Record<EventName, [AuditAction | null, AuditOutcome]>> = {
  PasswordResetStart: [null, 'start'], // reset or unlock
  PasswordResetSuccess: ['reset', 'success'],
  PasswordResetFail: ['reset', 'failure'],
  OnboardingEventSuccess: ['onboarding', 'success'],
  ChangePasswordStart: ['change', 'start'],
  ChangePasswordSuccess: ['change', 'success'],
  ChangePasswordFail: ['change', 'failure'],
  UnlockSuccess: ['unlock', 'success'],
  UnlockFail: ['unlock', 'failure'],
  GatePassed: ['gate', 'success'],
  GateFailed: ['gate', 'failure'],
  SelfServiceBlocked: ['gate', 'blocked'],
  RegistrationSignIn: ['registration', 'start'],
  RegistrationSignInFail: ['registration', 'failure'],
  RegistrationChanged: ['registration', 'success'],
};

/** What a registration change was (RegistrationChanged `change`), kept as the record's `reason`. */
export const REGISTRATION_CHANGES = ['added', 'removed', 'questions', 'questions_removed', 'confirmed'] as const;

export const AUDITED_EVENTS = Object.keys(AUDITED) as EventName[];

const REASONS = new Set<string>([...POLICY_REASONS, 'wrong', 'expired', 'failures', 'resets']);
const CHANGES = new Set<string>(REGISTRATION_CHANGES);
const METHOD = /^[a-z][a-z0-9_-]{0,31}$/;
/** Sessions whose passed gates are remembered until their action ends; beyond this the oldest go. */
const MAX_TRACKED_SESSIONS = 10_000;

/**
 * Turns events into audit entries. Stateful in one small way: it remembers which gate methods a
 * session passed, so that the reset or unlock that follows records how the person proved who
 * they are (`method`), and failures can be counted by method.
 */
export class AuditMapper {
  private readonly passed = new Map<string, string[]>();

  /** The entry for an event, or undefined when the event is not audited. */
  entryFor(name: EventName, fields: EventFields): AuditEntry | undefined {
    const kind = AUDITED[name];
    if (!kind) return undefined;
    const [fixedAction, outcome] = kind;
    const action = fixedAction ?? (fields['action'] === 'unlock' ? 'unlock' : 'reset');
    const sid = typeof fields['sid'] === 'string' ? fields['sid'] : undefined;
    const entry: AuditEntry = { event: EVENTS[name], name, action, outcome };
    const user = str(fields['user']);
    if (user) entry.user = user;
    if (sid) entry.sid = sid.slice(0, SID_PREFIX_LENGTH);
    if (typeof fields['known'] === 'boolean') entry.known = fields['known'];

    if (action === 'gate') {
      const method = str(fields['method']);
      if (method && METHOD.test(method)) entry.method = method;
      if (outcome === 'success' && sid && entry.method) this.remember(sid, entry.method);
      if (outcome === 'failure') {
        const result = fields['result'] === 'expired' ? 'expired' : 'wrong';
        entry.code = result === 'expired' ? 'GATE_EXPIRED' : 'GATE_FAILED';
        entry.reason = result;
      }
      if (outcome === 'blocked') {
        entry.code = 'TOO_MANY_ATTEMPTS';
        const why = str(fields['why']);
        if (why && REASONS.has(why)) entry.reason = why;
      }
      return entry;
    }

    if (action === 'registration') {
      // Opening a registration takes the current password; a change names what and which method.
      if (outcome === 'failure') {
        entry.method = 'password';
        entry.code = 'INVALID_CREDENTIALS';
      }
      if (outcome === 'success') {
        const change = str(fields['change']);
        if (change && CHANGES.has(change)) entry.reason = change;
        const method = str(fields['method']);
        if (method && METHOD.test(method)) entry.method = method;
      }
      return entry;
    }

    if (outcome === 'start') return entry;
    if (action === 'change') entry.method = 'password';
    else if (sid) {
      const methods = this.passed.get(sid);
      if (methods) entry.method = methods.join('+');
    }
    if (outcome === 'failure') {
      const code = fields['code'];
      entry.code = isErrorCode(code) ? code : 'INTERNAL';
      const reason = str(fields['reason']);
      if (reason && REASONS.has(reason)) entry.reason = reason;
    }
    // A session's methods are needed until its action has an outcome; a failed reset may be retried.
    if (outcome === 'success' && sid) this.passed.delete(sid);
    return entry;
  }

  private remember(sid: string, method: string): void {
    const list = this.passed.get(sid) ?? [];
    if (!list.includes(method)) list.push(method);
    this.passed.delete(sid);
    this.passed.set(sid, list);
    if (this.passed.size > MAX_TRACKED_SESSIONS) this.passed.delete(this.passed.keys().next().value as string);
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 1024) : undefined;
}

/** An EventLog sink that appends the audited events to `audit`. Throws what the append throws. */
export function auditSink(audit: { append(entry: AuditEntry): unknown }): (name: EventName, fields: EventFields) => void {
  const mapper = new AuditMapper();
  return (name, fields) => {
    const entry = mapper.entryFor(name, fields);
    if (entry) audit.append(entry);
  };
}
