/**
 * The directory half of `unlatch-agent doctor`: each DC over LDAPS (reachable, certificate
 * trusted), the service account's bind, the PDC emulator, the scope group, the four delegated
 * rights, the policy-hints control and the clock. All reads (agent/directory/diagnostics.ts);
 * nothing is written to AD and no user is touched.
 */
import type { AgentConfig } from '../config.ts';
import { GUIDS } from '../directory/acl.ts';
import type { ConnectionSettings } from '../directory/connection.ts';
import {
  inspectDc,
  inspectRights,
  inspectScope,
  probeTls,
  type DcFacts,
  type RightsFacts,
  type SampleRights,
  type ScopeFacts,
  type TlsProbe,
} from '../directory/diagnostics.ts';
import { POLICY_HINTS_DEPRECATED_OID, POLICY_HINTS_OID } from '../directory/password.ts';
import { classifyNetError, explainNet, fail, pass, skip, warn, within, type CheckResult } from './check.ts';

const DAY_MS = 86_400_000;

/** Bind `data` codes: what they mean for the service account, and the fix. */
const BIND_DATA: Record<string, [string, string]> = {
  '52e': [
    'invalid credentials (data 52e): the password is wrong, or no account has this DN',
    'check directory.bindDN (the full DN of the service account) and that the directory.bindPassword file holds its current password',
  ],
  '525': ['no such account (data 525)', 'check directory.bindDN'],
  '530': ['not permitted to log on at this time (data 530)', "clear the service account's logon-hours restriction"],
  '531': ['not permitted to log on from this computer (data 531)', 'clear the "Log On To" restriction of the service account'],
  '532': [
    "the service account's password has expired (data 532)",
    'set a new password for it, put it in the directory.bindPassword file, and give the account a policy without expiry (a PSO) or a rotation schedule',
  ],
  '533': ['the service account is disabled (data 533)', 'enable the service account'],
  '701': ['the service account has expired (data 701)', 'extend its account expiry (accountExpires)'],
  '773': [
    'the service account must change its password at next logon (data 773)',
    'set a new password for it without "must change at next logon" and put it in the directory.bindPassword file',
  ],
  '775': [
    'the service account is locked out (data 775)',
    'unlock it, and find what keeps binding with an old password (another agent, a stale config): every failed bind counts towards the lockout',
  ],
};

interface DcProbe {
  url: string;
  tls: TlsProbe;
  facts?: DcFacts;
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 636) };
}

function normDN(dn: string | undefined): string {
  return (dn ?? '').replace(/\s*([,=])\s*/g, '$1').toLowerCase();
}

function cn(subject: string): string {
  return /(?:^|, )CN=([^,]+)/.exec(subject)?.[1] ?? subject;
}

function domainOf(baseDN: string): string {
  return [...baseDN.matchAll(/DC=([^,]+)/gi)].map((m) => m[1]).join('.');
}

async function probeDc(url: string, s: ConnectionSettings, baseDN: string): Promise<DcProbe> {
  const tls = await probeTls(url, s);
  if (!tls.ok) return { url, tls };
  return { url, tls, facts: await inspectDc(url, s, baseDN) };
}

function dcCheck(p: DcProbe, s: ConnectionSettings, now: number): CheckResult {
  const id = `dc:${p.url}`;
  const title = `DC ${p.url}`;
  const { host, port } = hostPort(p.url);
  if (!p.tls.ok) {
    const t = p.tls;
    const problem = classifyNetError(t.code, t.message);
    const presented = t.certificate ? `the DC presents "${cn(t.certificate.subject)}" issued by "${cn(t.certificate.issuer)}"` : '';
    switch (problem) {
      case 'untrusted':
        return fail(
          id,
          title,
          `certificate not trusted (${t.code}): ${presented || t.message}`,
          s.caPem
            ? 'directory.caFile does not hold the CA that issued this certificate: put that CA (PEM, with any intermediate) in it'
            : 'set directory.caFile to the CA certificate (PEM) that issued the DCs\' certificates (e.g. your AD CS root CA)',
        );
      case 'name_mismatch': {
        const names = t.certificate?.altNames.length ? t.certificate.altNames.join(', ') : t.certificate ? cn(t.certificate.subject) : '?';
        return fail(
          id,
          title,
          `certificate name mismatch: it is for ${names}, not ${t.identity}`,
          `use a name on the certificate in directory.urls (e.g. ldaps://${t.certificate?.altNames[0] ?? 'dc.example'}:${port}), or set directory.tlsServername to one`,
        );
      }
      case 'expired':
        return fail(
          id,
          title,
          `certificate expired or not yet valid (${t.code}${t.certificate ? `, valid ${t.certificate.validFrom.toISOString().slice(0, 10)} to ${t.certificate.validTo.toISOString().slice(0, 10)}` : ''})`,
          "renew the DC's certificate (certificate autoenrollment), and check this host's clock",
        );
      case 'refused':
        return fail(id, title, `connection refused by ${host}:${port}: no LDAPS service there`, `check the port in directory.urls (LDAPS is 636) and that the DC has a certificate for LDAPS (without one AD does not listen on 636)`);
      case 'timeout':
        return fail(id, title, `no answer from ${host}:${port} within ${s.timeoutMs} ms (connection timeout)`, `a firewall drops TCP ${port} to the DC, or it is down: allow TCP ${port} from this host to ${host}`);
      case 'not_tls':
      case 'reset':
        return fail(id, title, `${host}:${port} did not complete a TLS handshake (${t.message})`, `is ${port} the plain LDAP port (389)? Use ldaps://${host}:636`);
      default: {
        const e = explainNet(problem, 'the DC', host, port, t.message);
        return fail(id, title, e.detail, e.fix);
      }
    }
  }
  const cert = p.tls.certificate;
  const daysLeft = Math.floor((cert.validTo.getTime() - now) / DAY_MS);
  const detail = `${host}:${port} answers over ${p.tls.protocol}; certificate "${cn(cert.subject)}" trusted, valid until ${cert.validTo.toISOString().slice(0, 10)}`;
  if (daysLeft < 30) return warn(id, title, `${detail} (${daysLeft} days left)`, "renew the DC's certificate before it expires, or LDAPS stops working");
  return pass(id, title, detail);
}

function bindCheck(probes: DcProbe[], bindDN: string): CheckResult {
  const title = 'service account bind';
  const reached = probes.filter((p) => p.facts);
  if (!reached.length) return skip('bind', title, 'not checked: no DC answered over LDAPS', false);
  const failed = reached.filter((p) => !p.facts?.bind.ok);
  if (!failed.length) return pass('bind', title, `${bindDN} binds on ${reached.length === 1 ? reached[0]?.url : `all ${reached.length} reachable DCs`}`);
  const first = failed[0]?.facts?.bind;
  const known = first?.data ? BIND_DATA[first.data] : undefined;
  const where = failed.map((p) => p.url).join(', ');
  if (known) return fail('bind', title, `${bindDN} on ${where}: ${known[0]}`, known[1]);
  if (first?.resultCode === 49) {
    return fail('bind', title, `${bindDN} on ${where}: invalid credentials (${first.message})`, BIND_DATA['52e']?.[1] ?? 'check directory.bindDN and bindPassword');
  }
  return fail('bind', title, `the bind did not complete on ${where}: ${first?.message ?? 'unknown error'}`, 'check that the URL is a domain controller\'s LDAPS port');
}

function pdcCheck(probes: DcProbe[], extra: DcProbe | undefined): CheckResult {
  const title = 'PDC emulator';
  const bound = probes.filter((p) => p.facts?.bind.ok);
  if (!bound.length) return skip('pdc', title, 'not checked: the service account could not bind on any DC', false);
  const pdc = bound.map((p) => p.facts?.pdc).find((x) => x);
  if (!pdc) {
    const err = bound.map((p) => p.facts?.readError).find((x) => x);
    return warn('pdc', title, `fSMORoleOwner could not be read${err ? ` (${err})` : ''}; writes go to the first DC that answers`, 'let the service account read the domain object (Authenticated Users may by default)');
  }
  const name = pdc.hostName ?? pdc.ntdsDN;
  const isPdc = (p: DcProbe) => normDN(p.facts?.rootDse?.dsServiceName) === normDN(pdc.ntdsDN);
  const configured = bound.find(isPdc);
  if (configured) return pass('pdc', title, `${name} holds the role and is ${configured.url} (configured, reachable): writes go there`);
  const firstBound = bound[0]?.url ?? '?';
  const byName = probes.find((p) => pdc.hostName && hostPort(p.url).host.toLowerCase() === pdc.hostName.toLowerCase());
  if (byName) {
    return warn('pdc', title, `${name} holds the role and is configured as ${byName.url}, but it did not answer; writes go to ${firstBound}`, `fix ${byName.url} (see its check above); until then passwords and unlocks reach the PDC by replication`);
  }
  if (extra?.facts?.bind.ok && isPdc(extra)) {
    return warn('pdc', title, `${name} holds the role; it is not in directory.urls but answers at ${extra.url}, and the agent finds and uses it by name`, `add ${extra.url} to directory.urls (first), so the agent does not depend on finding it`);
  }
  const why = extra && !extra.tls.ok ? `: ${extra.tls.message}` : extra?.facts && !extra.facts.bind.ok ? `: bind failed (${extra.facts.bind.message})` : '';
  return warn('pdc', title, `${name} holds the role but is not in directory.urls and cannot be reached from here${why}; writes go to ${firstBound}`, `allow TCP 636 from this host to ${name} and add ldaps://${name} to directory.urls; until then passwords and unlocks reach the PDC by replication`);
}

function scopeCheck(facts: ScopeFacts | Error | undefined, scopeGroupDN: string | undefined): CheckResult {
  const title = 'scope group';
  if (!scopeGroupDN) return pass('scope', title, 'no directory.scopeGroupDN: every enabled, unprotected user under directory.baseDN may use self-service');
  if (!facts) return skip('scope', title, 'not checked: the service account could not bind on any DC', false);
  if (facts instanceof Error) return fail('scope', title, `${scopeGroupDN} could not be read: ${facts.message}`, 'check directory.scopeGroupDN (the full DN of the group)');
  if (!facts.exists) {
    return fail('scope', title, `${scopeGroupDN} does not exist (or the service account cannot see it): nobody can use self-service`, 'set directory.scopeGroupDN to the full DN of the group (Get-ADGroup <name> | Select DistinguishedName)');
  }
  if (facts.members === 0) {
    return warn('scope', title, `${scopeGroupDN} has no user members (nested included): nobody can use self-service yet`, 'add the users (or groups of them) who may use self-service to the group');
  }
  return pass('scope', title, `${scopeGroupDN}: ${facts.members >= facts.limit ? `at least ${facts.limit}` : facts.members} user${facts.members === 1 ? '' : 's'} in scope (nested membership counts)`);
}

type RightKey = 'resetPassword' | 'changePassword' | 'lockoutTime' | 'pwdLastSet';

const RIGHTS: Array<{ key: RightKey; id: string; name: string; dsacls: string; sddl: (sid: string) => string; consequence: string }> = [
  {
    key: 'resetPassword',
    id: 'rights:reset-password',
    name: 'Reset Password',
    dsacls: 'CA;Reset Password;user',
    sddl: (sid) => `(OA;CIIO;CR;${GUIDS.resetPassword};${GUIDS.userClass};${sid})`,
    consequence: 'resets fail with ACCESS_DENIED',
  },
  {
    key: 'changePassword',
    id: 'rights:change-password',
    name: 'Change Password',
    dsacls: 'CA;Change Password;user',
    sddl: (sid) => `(OA;CIIO;CR;${GUIDS.changePassword};${GUIDS.userClass};${sid})`,
    consequence: 'changes (old + new password) fail with ACCESS_DENIED',
  },
  {
    key: 'lockoutTime',
    id: 'rights:write-lockoutTime',
    name: 'write lockoutTime',
    dsacls: 'WP;lockoutTime;user',
    sddl: (sid) => `(OA;CIIO;WP;${GUIDS.lockoutTime};${GUIDS.userClass};${sid})`,
    consequence: 'unlocks fail, and so do resets (a reset also unlocks, in the same write)',
  },
  {
    key: 'pwdLastSet',
    id: 'rights:write-pwdLastSet',
    name: 'write pwdLastSet',
    dsacls: 'WP;pwdLastSet;user',
    sddl: (sid) => `(OA;CIIO;WP;${GUIDS.pwdLastSet};${GUIDS.userClass};${sid})`,
    consequence: 'resets fail (a reset clears "must change at next logon" in the same write)',
  },
];

function granted(sample: SampleRights, key: RightKey): boolean | undefined {
  const r = sample[key];
  if (key === 'lockoutTime' || key === 'pwdLastSet') return r.writable;
  return r.decision?.allowed;
}

function rightsChecks(facts: RightsFacts | Error | undefined, dcUrl: string | undefined, dcHost: string | undefined, baseDN: string): CheckResult[] {
  return RIGHTS.map((right) => {
    const title = `right: ${right.name}`;
    if (!facts) return skip(right.id, title, 'not checked: the service account could not bind on any DC', false);
    if (facts instanceof Error) return fail(right.id, title, `the rights could not be read: ${facts.message}`, 'check the service account can read user objects under directory.baseDN');
    if (!facts.samples.length) {
      return warn(right.id, title, 'not checked: no unprotected user found in scope to check it on', 'add a (test) user to the scope group and run doctor again');
    }
    const isAttr = right.key === 'lockoutTime' || right.key === 'pwdLastSet';
    const missing = facts.samples.filter((s) => granted(s, right.key) === false);
    const unknown = facts.samples.filter((s) => granted(s, right.key) === undefined);
    const containers = (list: SampleRights[]) => [...new Set(list.map((s) => s.container))].join('; ');
    const trusteeName = facts.account.upn ?? (facts.account.sam ? `${facts.account.sam}@${domainOf(baseDN)}` : facts.account.dn);
    if (missing.length) {
      const denied = missing.find((s) => !isAttr && s[right.key].decision?.why === 'deny');
      const how = isAttr ? 'not in allowedAttributesEffective' : denied ? `denied by a Deny entry for ${denied[right.key].trustee ?? '?'}` : 'no entry grants it';
      const detail = `missing: ${right.name} on users in ${containers(missing)} (checked on ${missing[0]?.dn}: ${how}); ${right.consequence}`;
      if (denied) {
        const selfish = right.key === 'changePassword' && /^(Everyone|Self)$/.test(denied[right.key].trustee ?? '');
        return fail(
          right.id,
          title,
          detail,
          selfish
            ? `"User cannot change password" is set on ${denied.dn}: clear it (Active Directory Users and Computers → Account), or expect changes for such users to be refused`
            : `remove the Deny entry for ${denied[right.key].trustee} (Active Directory Users and Computers → Security → Advanced) on ${denied.dn} or the OU it inherits from`,
        );
      }
      const sid = facts.account.sid ?? '<SID of the service account>';
      const commands = [...new Set(missing.map((s) => s.container))]
        .map(
          (c) =>
            `dsacls "${c}" /I:S /G "${trusteeName}:${right.dsacls}" — on Samba: samba-tool dsacl set -H ldaps://${dcHost ?? 'dc'} -U Administrator --objectdn="${c}" --sddl="${right.sddl(sid)}"`,
        )
        .join('; ');
      return fail(right.id, title, detail, `grant it on the OU for descendant user objects: ${commands}`);
    }
    if (unknown.length) {
      const why = unknown[0]?.daclError ?? 'the security descriptor could not be evaluated';
      return warn(right.id, title, `not checked on ${containers(unknown)}: ${why}`, 'let the service account read permissions on user objects (Authenticated Users may by default)');
    }
    const by = isAttr ? 'listed in allowedAttributesEffective' : `granted to ${[...new Set(facts.samples.map((s) => s[right.key].trustee ?? '?'))].join(', ')}`;
    return pass(right.id, title, `on users in ${containers(facts.samples)} (${by}; read on ${dcUrl ?? 'the DC'}, nothing written)`);
  });
}

function hintsCheck(primary: DcProbe | undefined): CheckResult {
  const title = 'policy hints';
  const controls = primary?.facts?.rootDse?.supportedControl;
  if (!primary || !controls) return skip('policy-hints', title, 'not checked: the service account could not bind on any DC', false);
  const oid = controls.includes(POLICY_HINTS_OID) ? POLICY_HINTS_OID : controls.includes(POLICY_HINTS_DEPRECATED_OID) ? POLICY_HINTS_DEPRECATED_OID : undefined;
  if (oid) return pass('policy-hints', title, `${primary.url} supports the policy-hints control (${oid}): password history and minimum age are enforced on resets too`);
  return warn(
    'policy-hints',
    title,
    `${primary.url} does not advertise the policy-hints control (${POLICY_HINTS_OID} or ${POLICY_HINTS_DEPRECATED_OID}): a reset is not checked against password history by this DC (changes still are)`,
    'Windows Server 2012 R2 and later DCs support it; Samba does not. Nothing breaks: accept it, or have the writes go to a DC that supports it (the PDC emulator)',
  );
}

function clockCheck(probes: DcProbe[]): CheckResult {
  const title = 'clock';
  const seen = probes
    .map((p) => ({ p, r: p.facts?.rootDse }))
    .filter((x): x is { p: DcProbe; r: NonNullable<DcFacts['rootDse']> & { currentTime: Date } } => !!x.r?.currentTime);
  if (!seen.length) return skip('clock', title, 'not checked: no DC told its time (rootDSE currentTime)', false);
  // currentTime has whole seconds; the local time is taken at the middle of the round trip.
  const skews = seen.map(({ p, r }) => ({ url: p.url, host: r.dnsHostName ?? p.url, skewMs: r.localTime - r.currentTime.getTime(), rtt: r.roundTripMs }));
  const worst = skews.reduce((a, b) => (Math.abs(b.skewMs) > Math.abs(a.skewMs) ? b : a));
  const seconds = Math.abs(worst.skewMs) / 1000;
  const side = worst.skewMs >= 0 ? 'ahead of' : 'behind';
  const detail = `this host is ${seconds < 1.5 ? 'within a second of' : `${seconds.toFixed(0)} s ${side}`} ${worst.host}${skews.length > 1 ? ` (the largest difference of ${skews.length} DCs)` : ''}`;
  const fix = "sync this host's clock with the domain (chrony, systemd-timesyncd or w32time, with the DCs or the PDC emulator as server)";
  if (seconds > 300) return fail('clock', title, `${detail}: beyond Kerberos' 5-minute tolerance`, fix);
  if (seconds > 60) return warn('clock', title, `${detail}: code lifetimes and audit times are off by as much`, fix);
  return pass('clock', title, detail);
}

/** Every directory check, in the order they are shown. Never throws. */
export async function directoryChecks(
  config: AgentConfig,
  secrets: { bindPassword: string; caPem: string | undefined },
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<CheckResult[]> {
  const d = config.directory;
  const s: ConnectionSettings = {
    urls: d.urls,
    baseDN: d.baseDN,
    bindDN: d.bindDN,
    bindPassword: secrets.bindPassword,
    caPem: secrets.caPem,
    tlsServername: d.tlsServername,
    timeoutMs: Math.min(d.timeoutMs, timeoutMs),
    rejectUnauthorized: true,
  };
  // Each DC: a TLS handshake, then a bind and four short reads, each with its own timeout.
  const probes = await Promise.all(
    d.urls.map((url) =>
      within(timeoutMs * 4, probeDc(url, s, d.baseDN), () => ({
        url,
        tls: { ok: false as const, code: 'ETIMEDOUT', message: `no complete answer within ${timeoutMs * 4} ms`, identity: hostPort(url).host, elapsedMs: timeoutMs * 4 },
      })),
    ),
  );
  const results: CheckResult[] = probes.map((p) => dcCheck(p, s, now()));
  results.push(bindCheck(probes, d.bindDN));

  const bound = probes.filter((p) => p.facts?.bind.ok);
  const pdc = bound.map((p) => p.facts?.pdc).find((x) => x);
  const isPdc = (p: DcProbe) => !!pdc && normDN(p.facts?.rootDse?.dsServiceName) === normDN(pdc.ntdsDN);
  // The PDC by name when it is not among the configured DCs (as the agent itself does).
  let extra: DcProbe | undefined;
  if (pdc?.hostName && !bound.some(isPdc) && !d.urls.some((u) => hostPort(u).host.toLowerCase() === pdc.hostName?.toLowerCase())) {
    const url = `ldaps://${pdc.hostName}:${hostPort(bound[0]?.url ?? d.urls[0] ?? 'ldaps://x:636').port}`;
    extra = await within(timeoutMs * 4, probeDc(url, { ...s, tlsServername: pdc.hostName }, d.baseDN), () => undefined);
  }
  results.push(pdcCheck(probes, extra));

  // The write DC: the PDC when it answers, else the first configured one that does.
  const primary = bound.find(isPdc) ?? bound[0];
  const onPrimary = async <T>(fn: (url: string) => Promise<T>): Promise<T | Error | undefined> => {
    if (!primary) return undefined;
    try {
      return await within<T | Error>(timeoutMs * 4, fn(primary.url), () => new Error(`no answer within ${timeoutMs * 4} ms`));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
  const [scope, rights] = await Promise.all([
    d.scopeGroupDN ? onPrimary((url) => inspectScope(url, s, d.baseDN, d.scopeGroupDN as string)) : Promise.resolve(undefined),
    onPrimary((url) => inspectRights(url, s, d.baseDN, d.scopeGroupDN)),
  ]);
  results.push(scopeCheck(scope, d.scopeGroupDN));
  results.push(...rightsChecks(rights, primary?.url, primary?.facts?.rootDse?.dnsHostName, d.baseDN));
  results.push(hintsCheck(primary));
  results.push(clockCheck(probes));
  return results;
}
