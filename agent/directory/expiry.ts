/**
 * When each in-scope user's password expires: for the password-expiry reminders
 * (agent/reminders/). Read-only.
 *
 * The DC computes it: `msDS-UserPasswordExpiryTimeComputed` (a FILETIME; "never" when the
 * password does not expire) takes the domain maximum age or the user's fine-grained policy,
 * "password never expires" and smart-card-only accounts into account. Windows DCs and Samba
 * (checked on 4.17: constructed in subtree searches too, PSOs included) both return it. A DC
 * that does not is handled by computing pwdLastSet + the maximum age of the user's effective
 * policy (msDS-ResultantPSO, else the domain's maxPwdAge; 0 = never), which is what the DC does.
 *
 * Only enabled accounts whose password can expire and has been set (pwdLastSet ≥ 1: "must change
 * at next logon" is not a reminder case), that are not protected (adminCount=1: self-service
 * refuses them) and are in the scope group are read, in pages.
 */
import { AndFilter, EqualityFilter, ExtensibleFilter, GreaterThanEqualsFilter, NotFilter, type Client } from 'ldapts';
import { attr, attrs } from './policy.ts';
import { fileTime, scopeFilter } from './users.ts';

const LDAP_MATCHING_RULE_BIT_AND = '1.2.840.113556.1.4.803';
const UF_ACCOUNTDISABLE = 0x2;
const UF_DONT_EXPIRE_PASSWD = 0x10000;
const NEVER = '9223372036854775807';

export interface PasswordExpiry {
  dn: string;
  sam: string;
  upn?: string;
  displayName?: string;
  mail: string[];
  /** pwdLastSet as stored (FILETIME digits): changes with every new password. */
  pwdLastSet: string;
  /** null: never expires. */
  expiresAt: Date | null;
  /** 'dc': msDS-UserPasswordExpiryTimeComputed; 'policy': pwdLastSet + maximum age. */
  source: 'dc' | 'policy';
}

const ATTRIBUTES = [
  'sAMAccountName',
  'userPrincipalName',
  'displayName',
  'mail',
  'pwdLastSet',
  'msDS-UserPasswordExpiryTimeComputed',
  'msDS-ResultantPSO',
];

function uacBit(bit: number): NotFilter {
  return new NotFilter({
    filter: new ExtensibleFilter({ matchType: 'userAccountControl', rule: LDAP_MATCHING_RULE_BIT_AND, value: String(bit) }),
  });
}

/**
 * Every in-scope user whose password can expire, with its expiry time. `maxAgeSeconds` gives the
 * maximum age for a user's PSO (or the domain's for undefined); it is only asked when the DC
 * does not compute the expiry itself.
 */
export async function searchPasswordExpiries(
  client: Client,
  baseDN: string,
  scopeGroupDN: string | undefined,
  maxAgeSeconds: (psoDN: string | undefined) => Promise<number>,
): Promise<PasswordExpiry[]> {
  const r = await client.search(baseDN, {
    scope: 'sub',
    filter: new AndFilter({
      filters: [
        new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
        new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
        uacBit(UF_ACCOUNTDISABLE),
        uacBit(UF_DONT_EXPIRE_PASSWD),
        new GreaterThanEqualsFilter({ attribute: 'pwdLastSet', value: '1' }),
        new NotFilter({ filter: new EqualityFilter({ attribute: 'adminCount', value: '1' }) }),
        ...(scopeGroupDN ? [scopeFilter(scopeGroupDN)] : []),
      ],
    }),
    attributes: ATTRIBUTES,
    paged: { pageSize: 500 },
  });
  const out: PasswordExpiry[] = [];
  for (const e of r.searchEntries) {
    const pwdLastSet = attr(e, 'pwdLastSet') ?? '0';
    const lastSet = fileTime(pwdLastSet);
    if (!lastSet) continue;
    const computed = attr(e, 'msDS-UserPasswordExpiryTimeComputed');
    let expiresAt: Date | null;
    let source: PasswordExpiry['source'];
    if (computed !== undefined && /^\d+$/.test(computed)) {
      source = 'dc';
      expiresAt = computed === NEVER ? null : fileTime(computed);
    } else {
      source = 'policy';
      const maxAge = await maxAgeSeconds(attr(e, 'msDS-ResultantPSO') || undefined);
      expiresAt = maxAge > 0 ? new Date(lastSet.getTime() + maxAge * 1000) : null;
    }
    const upn = attr(e, 'userPrincipalName') || undefined;
    const displayName = attr(e, 'displayName') || undefined;
    out.push({
      dn: e.dn,
      sam: attr(e, 'sAMAccountName') ?? '',
      ...(upn ? { upn } : {}),
      ...(displayName ? { displayName } : {}),
      mail: attrs(e, 'mail').filter(Boolean),
      pwdLastSet,
      expiresAt,
      source,
    });
  }
  return out;
}
