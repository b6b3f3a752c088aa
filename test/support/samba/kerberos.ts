/**
 * Real MIT `kinit` against the test DC's KDC: the authoritative check of what a password is.
 * (An LDAP simple bind is not: Samba can accept the previous password for a while after a
 * change, see `old password allowed period`.)
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { run, sambaTools } from './tools.ts';

export interface KinitResult {
  ok: boolean;
  /**
   * The KDC's verdict as kinit words it, without the "kinit: " prefix and the trailing
   * " while getting initial credentials": e.g. 'Password incorrect', 'Password has expired',
   * "Client's credentials have been revoked" (locked out or disabled),
   * "Client 'x@REALM' not found in Kerberos database".
   */
  error?: string;
}

/** Normalises kinit's output into a KinitResult. Exported for unit tests. */
export function parseKinit(code: number | null, stdout: string, stderr: string): KinitResult {
  const all = `${stdout}\n${stderr}`;
  if (code === 0) return { ok: true };
  // For an expired password the KDC answers KDC_ERR_KEY_EXPIRED and MIT kinit starts a change
  // dialogue ("Password expired.  You must change it now.") that fails on the closed stdin.
  if (/Password expired/i.test(all)) return { ok: false, error: 'Password has expired' };
  const line = all
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find((l) => l.startsWith('kinit:'));
  const error = (line ?? all.trim())
    .replace(/^kinit:\s*/, '')
    .replace(/\s+while getting initial credentials$/, '');
  return { ok: false, error: error || `kinit exited with ${code}` };
}

/**
 * 'alice' → 'alice@REALM'; a UPN in the realm's DNS domain ('alice@unlatch.test') → the
 * Kerberos principal 'alice@UNLATCH.TEST' (realms are case-sensitive, UPN suffixes are not).
 */
export function principalFor(principal: string, realm: string): string {
  const at = principal.lastIndexOf('@');
  if (at < 0) return `${principal}@${realm}`;
  const suffix = principal.slice(at + 1);
  return suffix.toUpperCase() === realm.toUpperCase() ? `${principal.slice(0, at)}@${realm}` : principal;
}

/**
 * kinit `principal` (a bare name gets @REALM) with `password` given on stdin, a private
 * KRB5_CONFIG (kdc = 127.0.0.1) and a throwaway credential cache.
 */
export async function kinit(
  workDir: string,
  krb5Conf: string,
  realm: string,
  principal: string,
  password: string,
): Promise<KinitResult> {
  const { kinit: kinitBin } = sambaTools();
  const full = principalFor(principal, realm);
  const ccache = path.join(workDir, `krb5cc-${randomBytes(6).toString('hex')}`);
  try {
    const r = await run(kinitBin, [full], {
      input: `${password}\n`,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        KRB5_CONFIG: krb5Conf,
        KRB5CCNAME: `FILE:${ccache}`,
        LANG: 'C',
        LC_ALL: 'C',
      },
      timeoutMs: 15_000,
    });
    return parseKinit(r.code, r.stdout, r.stderr);
  } finally {
    rmSync(ccache, { force: true });
  }
}
