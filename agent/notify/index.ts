/**
 * Everything the agent sends to people: codes (e-mail, SMS, voice) and notices. Sends run
 * after the answer has gone to the client, so a real send never makes an answer slower than a
 * decoy's, and their outcome is reported as events.
 */
import type { EventFields, EventName } from '../events.ts';
import type { Mailer } from './mailer.ts';
import { renderNotice, type Notice, type NoticeSettings } from './notices.ts';
import type { PhoneSender } from './phone.ts';

export { describeMethods, type Notice, type NoticeKind } from './notices.ts';

export interface NotifierOptions {
  mailer: Mailer;
  phone: PhoneSender | undefined;
  settings: NoticeSettings & { enabled: boolean; kinds: Record<Notice['kind'], boolean> };
  emit: (name: EventName, fields: EventFields) => void;
}

export class Notifier {
  constructor(private readonly o: NotifierOptions) {}

  emailCode(to: string, code: string, ttlMinutes: number): Promise<void> {
    return this.o.mailer.sendCode(to, code, ttlMinutes);
  }

  phoneCode(channel: 'sms' | 'voice', to: string, code: string, ttlMinutes: number, locale: string | undefined): Promise<void> {
    if (!this.o.phone) return Promise.reject(new Error('no SMS/voice gateway is configured (gates.phone.gateway)'));
    return this.o.phone.send(channel, to, code, ttlMinutes, locale);
  }

  /** Sends a notice to the person's addresses later (never delays an answer); reports the outcome as an event. */
  notice(to: string[], notice: Notice, fields: EventFields): void {
    const { settings } = this.o;
    const addresses = [...new Set(to.map((a) => a.toLowerCase()))];
    if (!settings.enabled || !settings.kinds[notice.kind] || addresses.length === 0) return;
    const message = renderNotice(notice, settings);
    setImmediate(() => {
      this.o.mailer.sendNotice(addresses, message).then(
        () => this.o.emit('NotificationSent', { ...fields, kind: notice.kind, recipients: addresses.length }),
        (err: Error) => this.o.emit('NotificationFailed', { ...fields, kind: notice.kind, error: err.message }),
      );
    });
  }

  close(): void {
    this.o.mailer.close();
  }
}
