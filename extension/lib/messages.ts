/**
 * The one message contract between the extension's execution contexts, named by direction
 * (as in Dark Reader's utils/message.ts). The service worker keeps a map of named handlers and
 * checks who sent each message before acting on it (see background/main.ts).
 *
 *   content script → service worker   ContentToBackground
 *   extension page → service worker   PageToBackground
 *
 * Reset pages and the options page talk to the relay themselves (see ui/reset/session.ts);
 * nothing here ever carries a password.
 */
import { OUTCOMES, type Outcome } from './rules.ts';

export type ContentToBackground =
  | {
      type: 'content:open-reset';
      outcome: Outcome;
      /** The user name shown or typed on the sign-in page, to prefill; never a password. */
      user?: string;
    }
  /** A sign-in form on the nudge page was submitted with this user name (never a password). */
  | { type: 'content:signin'; user: string }
  /** The nudge page now looks signed in: should it suggest registering? Answers the user name, or false. */
  | { type: 'content:signed-in'; user?: string }
  | { type: 'content:open-register'; user?: string };

export type PageToBackground = { type: 'page:reload-policy' };

export type BackgroundMessage = ContentToBackground | PageToBackground;

export const MAX_PREFILL = 256;

/** Strips what never belongs in a user id and bounds its length. */
export function cleanUserId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_PREFILL);
  return s.length > 0 ? s : undefined;
}

/** Validates a message from any sender; unknown or malformed messages are undefined. */
export function parseBackgroundMessage(value: unknown): BackgroundMessage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  switch (o['type']) {
    case 'content:open-reset': {
      const outcome = o['outcome'];
      if (typeof outcome !== 'string' || !(OUTCOMES as readonly string[]).includes(outcome)) return undefined;
      const user = cleanUserId(o['user']);
      return { type: 'content:open-reset', outcome: outcome as Outcome, ...(user ? { user } : {}) };
    }
    case 'content:signin': {
      const user = cleanUserId(o['user']);
      return user ? { type: 'content:signin', user } : undefined;
    }
    case 'content:signed-in':
    case 'content:open-register': {
      const user = cleanUserId(o['user']);
      return { type: o['type'], ...(user ? { user } : {}) };
    }
    case 'page:reload-policy':
      return { type: 'page:reload-policy' };
    default:
      return undefined;
  }
}

/** The query the reset page is opened with. */
export interface ResetPageParams {
  outcome?: Outcome;
  user?: string;
  /** The sign-in tab, to return to when done. */
  tab?: number;
}

export function resetPageQuery(p: ResetPageParams): string {
  const q = new URLSearchParams();
  if (p.outcome) q.set('outcome', p.outcome);
  if (p.user) q.set('user', p.user);
  if (p.tab !== undefined) q.set('tab', String(p.tab));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function parseResetPageQuery(search: string): ResetPageParams {
  const q = new URLSearchParams(search);
  const out: ResetPageParams = {};
  const outcome = q.get('outcome');
  if (outcome && (OUTCOMES as readonly string[]).includes(outcome)) out.outcome = outcome as Outcome;
  const user = cleanUserId(q.get('user'));
  if (user) out.user = user;
  const tab = Number(q.get('tab'));
  if (q.has('tab') && Number.isInteger(tab) && tab >= 0) out.tab = tab;
  return out;
}
