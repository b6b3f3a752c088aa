/**
 * Numbered events, modelled on the writeback model's event log (31002 PasswordResetSuccess and
 * 31005 OnboardingEventSuccess keep their numbers). docs/events.md lists each with its meaning
 * and fix. An event carries who and what, never a password, code or answer.
 */
import type { Logger } from './log.ts';

export const EVENTS = {
  PasswordResetStart: 31001,
  PasswordResetSuccess: 31002,
  PasswordResetFail: 31003,
  OnboardingEventSuccess: 31005,
  ChangePasswordStart: 31006,
  ChangePasswordSuccess: 31007,
  ChangePasswordFail: 31008,
  UnlockSuccess: 31009,
  UnlockFail: 31010,
  GateCodeSent: 31020,
  GateCodeSendFail: 31021,
  GatePassed: 31022,
  GateFailed: 31023,
  SelfServiceBlocked: 31024,
  GateSendRefused: 31025,
  RelayConnected: 31030,
  RelayDisconnected: 31031,
  RelayAuthFailed: 31032,
  SessionRejected: 31033,
  KeysRotated: 31040,
  SigningKeyPrepared: 31041,
  SigningKeyActivated: 31042,
  AgentStarted: 31050,
  AgentStopped: 31051,
  RegistrationSignIn: 31060,
  RegistrationSignInFail: 31061,
  RegistrationChanged: 31062,
  NotificationSent: 31070,
  NotificationFailed: 31071,
  ExpiryReminderSent: 31080,
  ExpiryReminderFail: 31081,
  ExpiryRemindersDone: 31082,
  ExpiryRemindersFail: 31083,
  DirectoryUnavailable: 32001,
  DirectoryAccessDenied: 32002,
  InternalError: 33001,
} as const;

export type EventName = keyof typeof EVENTS;

const LEVEL: Partial<Record<EventName, 'warn' | 'error'>> = {
  PasswordResetFail: 'warn',
  ChangePasswordFail: 'warn',
  UnlockFail: 'warn',
  GateCodeSendFail: 'error',
  GateFailed: 'warn',
  SelfServiceBlocked: 'warn',
  GateSendRefused: 'warn',
  RegistrationSignInFail: 'warn',
  NotificationFailed: 'error',
  ExpiryReminderFail: 'error',
  ExpiryRemindersFail: 'error',
  RelayDisconnected: 'warn',
  RelayAuthFailed: 'error',
  SessionRejected: 'warn',
  DirectoryUnavailable: 'error',
  DirectoryAccessDenied: 'error',
  InternalError: 'error',
};

export type EventFields = Record<string, string | number | boolean | undefined>;

/** Sees every event after it is logged (the audit log, metrics). Must not throw; if it does, that is logged. */
export type EventSink = (name: EventName, fields: EventFields) => void;

export class EventLog {
  constructor(
    private readonly log: Logger,
    private readonly sink?: EventSink,
  ) {}

  emit(name: EventName, fields: EventFields = {}, message: string = name): void {
    this.log[LEVEL[name] ?? 'info']({ event: EVENTS[name], eventName: name, ...fields }, message);
    if (!this.sink) return;
    try {
      this.sink(name, fields);
    } catch (err) {
      // An event is emitted after the thing it reports has happened: never undo that by throwing.
      this.log.error({ eventName: name, err: err instanceof Error ? err.message : String(err) }, 'event sink failed');
    }
  }
}
