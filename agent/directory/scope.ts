/**
 * Everyone self-service is for: the user accounts in scope (members of the scope group, nested
 * membership counted; everyone under the base DN when there is none), read in pages. For the
 * registration coverage in `unlatch-agent report`. Read-only.
 *
 * Disabled and protected (adminCount=1) accounts are returned too, marked as such, so that the
 * report can say how many there are; self-service refuses them.
 */
import { AndFilter, EqualityFilter, OrFilter, type Client, type Filter } from 'ldapts';
import { CONSTRUCTED_USER_ATTRIBUTES, scopeFilter, toDirectoryUser, USER_ATTRIBUTES, type DirectoryUser } from './users.ts';

/** What a person's checks and identity come from, without the attributes the DC computes per entry. */
const ATTRIBUTES = USER_ATTRIBUTES.filter((a) => !CONSTRUCTED_USER_ATTRIBUTES.has(a));

const PAGE_SIZE = 500;

function peopleFilter(extra: Filter[]): Filter {
  return new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
      new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
      ...extra,
    ],
  });
}

export interface ScopeSearch {
  baseDN: string;
  scopeGroupDN?: string | undefined;
  privilegedGroupDNs?: readonly string[] | undefined;
  /** Attributes the admin maps to contact data, read as well. */
  extraAttributes?: readonly string[] | undefined;
}

/** Every user account in scope, with `privileged` set from (nested) membership of the privileged groups. */
export async function searchUsersInScope(client: Client, o: ScopeSearch): Promise<DirectoryUser[]> {
  const scope = o.scopeGroupDN ? [scopeFilter(o.scopeGroupDN)] : [];
  const extra = o.extraAttributes ?? [];
  const people = await client.search(o.baseDN, {
    scope: 'sub',
    filter: peopleFilter(scope),
    attributes: [...ATTRIBUTES, ...extra],
    explicitBufferAttributes: ['objectGUID'],
    paged: { pageSize: PAGE_SIZE },
  });
  // One search for all privileged members rather than one per person.
  const privileged = new Set<string>();
  const groups = o.privilegedGroupDNs ?? [];
  if (groups.length) {
    const member = groups.length === 1 ? scopeFilter(groups[0] as string) : new OrFilter({ filters: groups.map((g) => scopeFilter(g)) });
    const r = await client.search(o.baseDN, { scope: 'sub', filter: peopleFilter([...scope, member]), attributes: ['1.1'], paged: { pageSize: PAGE_SIZE } });
    for (const e of r.searchEntries) privileged.add(e.dn.toLowerCase());
  }
  return people.searchEntries.map((e) => toDirectoryUser(e, true, privileged.has(e.dn.toLowerCase()), extra));
}
