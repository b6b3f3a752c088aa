/**
 * Notices to a person after something changed on their account: their password was reset or
 * changed, their account unlocked, their registration changed. Each says when, from which
 * address (as the relay saw it), how the person proved who they are, and where to turn if it
 * wasn't them. None holds a secret: no password, no code, no answer, no full contact data
 * (masked hints only).
 */

export type NoticeKind = 'reset' | 'change' | 'unlock' | 'registration';

export interface Notice {
  kind: NoticeKind;
  /** The account name (sAMAccountName). */
  account: string;
  displayName?: string | undefined;
  time: number;
  /** Client address asserted by the relay; undefined when the relay did not say. */
  source?: string | undefined;
  /** How they proved who they are, e.g. "e-mail code (a•••@corp.example), authenticator app". */
  method: string;
  /** Registration notices: what changed, e.g. "A phone number (•••••01) was added." */
  change?: string | undefined;
}

export interface NoticeSettings {
  organisation: string;
  helpdeskUrl?: string | undefined;
  helpdeskText?: string | undefined;
}

const SUBJECTS: Record<NoticeKind, string> = {
  reset: 'Your password was reset',
  change: 'Your password was changed',
  unlock: 'Your account was unlocked',
  registration: 'Your password reset registration changed',
};

const WHAT: Record<Exclude<NoticeKind, 'registration'>, string> = {
  reset: 'The password of your account {account} was reset with self-service (this also unlocks the account).',
  change: 'The password of your account {account} was changed with self-service.',
  unlock: 'Your account {account} was unlocked with self-service.',
};

export function renderNotice(n: Notice, s: NoticeSettings): { subject: string; text: string } {
  const what =
    n.kind === 'registration'
      ? `${n.change ?? 'Your self-service registration changed.'} (account ${n.account})`
      : WHAT[n.kind].replace('{account}', n.account);
  const help = s.helpdeskUrl ? `${s.helpdeskText ? `${s.helpdeskText}: ` : 'Contact your help desk now: '}${s.helpdeskUrl}` : (s.helpdeskText ?? 'Contact your help desk now.');
  const lines = [
    `Hello ${n.displayName ?? n.account},`,
    '',
    what,
    '',
    `  When:  ${new Date(n.time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    `  From:  ${n.source ? `${n.source} (address seen by the ${s.organisation} password service)` : 'unknown (via the relay)'}`,
    `  How:   ${n.method}`,
    '',
    'If this was you, there is nothing to do.',
    '',
    `Wasn't you? ${help}`,
    n.kind === 'registration' ? 'Someone who can change your registration knows your password: change it too.' : 'Someone may have access to your mail or phone.',
    '',
    `— ${s.organisation} self-service password reset. This message was sent automatically; do not reply.`,
  ];
  return { subject: `${SUBJECTS[n.kind]} (${s.organisation})`, text: `${lines.join('\n')}\n` };
}

const METHOD_NAMES: Record<string, string> = {
  email: 'e-mail code',
  sms: 'text message code',
  voice: 'voice call code',
  totp: 'authenticator app',
  questions: 'security questions',
  password: 'current password',
};

/** "e-mail code (a•••@corp.example), authenticator app" from the checks passed. */
export function describeMethods(passed: Array<{ method: string; hint?: string | undefined }>): string {
  if (passed.length === 0) return 'none';
  return passed
    .map(({ method, hint }) => {
      const name = METHOD_NAMES[method] ?? method;
      return hint && (method === 'email' || method === 'sms' || method === 'voice') ? `${name} (${hint})` : name;
    })
    .join(', ');
}
