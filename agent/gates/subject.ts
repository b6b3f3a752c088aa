/**
 * The key a person's registration, codes and throttles are kept under: their objectGUID, which
 * survives renames and moves (the DN only for a directory that has no GUID). The session flow
 * and the registration coverage report must agree on it, so it is computed here only.
 */
export function subjectOf(user: { guid?: string | undefined; dn: string }): string {
  return user.guid ? `guid:${user.guid}` : `dn:${user.dn.toLowerCase()}`;
}
