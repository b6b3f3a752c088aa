/**
 * One diagnosis: what was checked, whether it is fine, what was seen and — when it is not fine —
 * what to do. Plus the shared reading of network and TLS failures, so the DC, relay, SMTP and SMS
 * checks explain "connection refused", "timed out", "certificate not trusted" and "name
 * mismatch" the same way.
 */

export type CheckLevel = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id for monitoring: `config`, `dc:<url>`, `bind`, `rights:reset-password`, … */
  check: string;
  /** false fails the run (exit status 1). Warnings and checks that do not apply are ok. */
  ok: boolean;
  level: CheckLevel;
  /** Short human name of the check. */
  title: string;
  /** What was seen. */
  detail: string;
  /** What to do; null when nothing is to be done. */
  fix: string | null;
}

export function pass(check: string, title: string, detail: string): CheckResult {
  return { check, ok: true, level: 'ok', title, detail, fix: null };
}

export function warn(check: string, title: string, detail: string, fix: string): CheckResult {
  return { check, ok: true, level: 'warn', title, detail, fix };
}

export function fail(check: string, title: string, detail: string, fix: string): CheckResult {
  return { check, ok: false, level: 'fail', title, detail, fix };
}

/** Not run: `ok` false when a failed prerequisite stopped it, true when it does not apply. */
export function skip(check: string, title: string, detail: string, ok: boolean): CheckResult {
  return { check, ok, level: 'skip', title, detail, fix: null };
}

/** Resolves to `promise`, or to `onTimeout()` after `ms`. */
export async function within<T>(ms: number, promise: Promise<T>, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type NetProblem = 'refused' | 'timeout' | 'dns' | 'unreachable' | 'untrusted' | 'name_mismatch' | 'expired' | 'not_tls' | 'reset' | 'other';

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_REJECTED',
]);

/**
 * What kind of failure an error code (or, for libraries that wrap errors, the message) means.
 * nodemailer, for one, replaces `code` with its own ("ESOCKET") and keeps the cause in the text.
 */
export function classifyNetError(code: string | undefined, message = ''): NetProblem {
  const c = code ?? '';
  const has = (re: RegExp) => re.test(c) || re.test(message);
  if (has(/ECONNREFUSED/)) return 'refused';
  if (has(/ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL/)) return 'dns';
  if (has(/EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN/)) return 'unreachable';
  if (has(/ETIMEDOUT|ESOCKETTIMEDOUT|timed? ?out/i)) return 'timeout';
  if (has(/ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match|altnames/i)) return 'name_mismatch';
  if (has(/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|certificate has expired|not yet valid/i)) return 'expired';
  if (UNTRUSTED.has(c) || [...UNTRUSTED].some((u) => message.includes(u)) || /self[- ]signed|unable to (verify|get (local )?issuer)/i.test(message)) return 'untrusted';
  if (has(/ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|wrong version number|packet length too long|unknown protocol|EPROTO/i)) return 'not_tls';
  if (has(/ECONNRESET|EPIPE|socket hang up|closed the connection/i)) return 'reset';
  return 'other';
}

/** The usual reading of a network problem reaching `what` at host:port, and its fix. */
export function explainNet(problem: NetProblem, what: string, host: string, port: number, message: string): { detail: string; fix: string } {
  switch (problem) {
    case 'refused':
      return {
        detail: `connection refused by ${host}:${port}: nothing listens there`,
        fix: `check the host and port of ${what} and that its service is running`,
      };
    case 'timeout':
      return {
        detail: `no answer from ${host}:${port} in time (${message})`,
        fix: `a firewall drops TCP ${port} to ${host}, or the host is down: allow outbound TCP ${port} from this host to ${host}`,
      };
    case 'dns':
      return { detail: `the name ${host} does not resolve (${message})`, fix: `use a name this host's DNS resolves for ${what}, or check its DNS servers` };
    case 'unreachable':
      return { detail: `no route to ${host}:${port} (${message})`, fix: `check the network path (routing, VPN, firewall) from this host to ${host}` };
    case 'untrusted':
      return {
        detail: `certificate not trusted (${message})`,
        fix: `trust the CA that issued the certificate of ${what} (the ca file setting for it, PEM), or have the server send its full chain`,
      };
    case 'name_mismatch':
      return {
        detail: `certificate name mismatch (${message})`,
        fix: `connect to ${what} by a name that is on its certificate`,
      };
    case 'expired':
      return { detail: `certificate expired or not yet valid (${message})`, fix: `renew the certificate of ${what}, and check this host's clock` };
    case 'not_tls':
      return { detail: `${host}:${port} did not answer with TLS (${message})`, fix: `is this the plain-text port of ${what}? Use its TLS port` };
    case 'reset':
      return { detail: `${host}:${port} closed the connection (${message})`, fix: `check that ${host}:${port} is ${what} and that no proxy or firewall cuts the connection` };
    default:
      return { detail: message, fix: `check the settings for ${what}` };
  }
}
