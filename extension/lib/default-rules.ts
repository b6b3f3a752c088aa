/**
 * Built-in detection rules for sign-in pages many organisations use in front of Active
 * Directory. Admin rules from policy come first, so an admin can override any of these.
 *
 * Texts are matched case-insensitively against visible text (scripts and styles excluded, so
 * Entra ID's embedded string tables do not trigger a banner). English and German wording.
 */
import type { DetectionRule, Outcome } from './rules.ts';

const TEXT: Record<Outcome, string> = {
  locked:
    'account (?:is|has been|was) (?:currently )?locked|(?:are|is|been|was) (?:now )?locked out|' +
    'Konto (?:ist|wurde) (?:vor(?:ü|ue)bergehend )?gesperrt|Benutzerkonto (?:ist )?gesperrt',
  must_change:
    'must change (?:your )?password|password must be changed|need to (?:update|change) your password|' +
    '(?:Kennwort|Passwort) muss ge(?:ä|ae)ndert werden|m(?:ü|ue)ssen (?:Ihr |dein )?(?:Kennwort|Passwort) (?:ä|ae)ndern',
  expired:
    'password (?:has |is )?expired|expired password|' +
    '(?:Kennwort|Passwort) (?:ist )?abgelaufen',
};

/** Sign-in products: URL globs and where each keeps the user name. */
const SITES: { urlPattern: string; userField?: string }[] = [
  // AD FS forms sign-in.
  { urlPattern: '*/adfs/ls*', userField: '#userNameInput' },
  // Microsoft Entra ID: the user name is shown, not typed, on the password page.
  { urlPattern: 'https://login.microsoftonline.com/*', userField: '#displayName, input[name="loginfmt"]' },
  // Outlook on the web (Exchange) forms sign-in.
  { urlPattern: '*/owa/auth/*', userField: '#username' },
  // Remote Desktop Web Access.
  { urlPattern: '*/RDWeb/*', userField: '#DomainUserName' },
  // Citrix Gateway and StoreFront.
  { urlPattern: '*/logon/LogonPoint/*', userField: '#login' },
  { urlPattern: '*/Citrix/*', userField: '#username' },
  // Okta-hosted sign-in in front of AD (delegated authentication).
  { urlPattern: 'https://*.okta.com/*', userField: 'input[name="identifier"], input[name="username"]' },
];

export const DEFAULT_RULES: readonly DetectionRule[] = [
  // OWA sends people with an expired password to a page of its own.
  { urlPattern: '*/owa/auth/expiredpassword.aspx*', outcome: 'expired', userField: '#username' },
  ...SITES.flatMap((site) =>
    (['locked', 'must_change', 'expired'] as const).map(
      (outcome): DetectionRule => ({ ...site, textPattern: TEXT[outcome], outcome }),
    ),
  ),
];
