/**
 * The answers `unlatch-agent init` asks for in a terminal: one check per answer, and the defaults
 * that can be guessed from earlier answers. Each check returns true or what is wrong and how to
 * write it instead (the shape inquirer's `validate` takes), so the admin fixes it while typing
 * rather than when the agent first starts.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { TENANT_ID_PATTERN } from '../protocol/envelope.ts';

export type Check = (answer: string) => true | string;

/** The folder the init writes into: anything but an existing file. */
export const checkDir: Check = (answer) => {
  const dir = answer.trim();
  if (!dir) return 'give a folder, e.g. ./unlatch-agent or /etc/unlatch-agent';
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is a file: give a folder (it is created when missing)`;
  } catch {
    // Missing is fine: init creates it (mode 0700).
  }
  return true;
};

/** Same rule as the relay's `tenants[].id` (protocol/envelope.ts), so the printed entry is accepted. */
export const checkTenant: Check = (answer) =>
  TENANT_ID_PATTERN.test(answer.trim()) ||
  'lower-case letters, digits and "-", starting with a letter or digit, at most 63 characters (the relay accepts nothing else)';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The agent sends its tenant secret over this connection, so plain ws:// only stays on the host. */
export const checkRelayUrl: Check = (answer) => {
  const url = parseUrl(answer.trim());
  if (url && (url.protocol === 'https:' || url.protocol === 'http:')) {
    return `the agent talks to the relay over WebSocket: write wss://${url.host}${url.pathname === '/' ? '' : url.pathname} instead of ${url.protocol}//`;
  }
  if (!url || (url.protocol !== 'wss:' && url.protocol !== 'ws:')) {
    return 'a wss:// URL, e.g. wss://relay.example.com';
  }
  if (url.protocol === 'ws:' && !LOOPBACK.has(url.hostname)) {
    return `use wss:// — ws:// (no TLS) is only allowed to 127.0.0.1 or localhost, not ${url.hostname}`;
  }
  return true;
};

/** "ldaps://dc1, ldaps://dc2" → the list; blanks between commas are dropped. */
export function splitLdapUrls(answer: string): string[] {
  return answer
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

/** Passwords are written over these connections: LDAPS only, one URL per DC. */
export const checkLdapUrls: Check = (answer) => {
  const urls = splitLdapUrls(answer);
  if (!urls.length) return 'give at least one DC, e.g. ldaps://dc01.corp.example (several: separate them with commas)';
  for (const u of urls) {
    const url = parseUrl(u);
    if (url?.protocol === 'ldap:') return `${u}: use ldaps:// — the agent writes passwords only over TLS (port 636)`;
    if (!url || url.protocol !== 'ldaps:' || !url.hostname) {
      return `${u}: not an LDAPS URL; write each DC as ldaps://host (e.g. ldaps://dc01.corp.example), separated by commas`;
    }
    if (url.pathname !== '/' && url.pathname !== '') return `${u}: leave out the path; the base DN is asked next`;
  }
  return true;
};

/** "NAME=value" parts separated by commas that are not escaped with a backslash (RFC 4514). */
const DN_PART = /^\s*([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)\s*=\s*\S/;

function looksLikeDn(text: string): boolean {
  const parts = text.split(/(?<!\\),/);
  return parts.every((p) => DN_PART.test(p));
}

function dnCheck(example: string): Check {
  return (answer) =>
    looksLikeDn(answer.trim()) || `not a DN: comma-separated NAME=value parts, e.g. ${example}`;
}

export const checkBaseDn = dnCheck('DC=corp,DC=example');
export const checkBindDn = dnCheck('CN=svc-unlatch,OU=Service,DC=corp,DC=example');

/** Blank means "no scope": everyone in the base DN may use self-service. */
export const checkScopeGroup: Check = (answer) =>
  !answer.trim() || dnCheck('CN=Unlatch Users,OU=Groups,DC=corp,DC=example')(answer);

/**
 * A guess for the base DN from the first DC's host: dc01.corp.example → DC=corp,DC=example (the
 * first label is taken for the DC's own name when there are three or more). None for an address.
 */
export function defaultBaseDn(ldapUrls: string): string | undefined {
  const host = parseUrl(splitLdapUrls(ldapUrls)[0] ?? '')?.hostname ?? '';
  if (!host || isIP(host) || host.startsWith('[')) return undefined;
  const labels = host.split('.').filter(Boolean);
  if (labels.length < 2) return undefined;
  const domain = labels.length >= 3 ? labels.slice(1) : labels;
  return domain.map((l) => `DC=${l}`).join(',');
}

/**
 * Typed once, never shown again, so only what would certainly fail is refused: the agent trims
 * the file when it reads it, which would drop white space at either end.
 */
export const checkBindPassword: Check = (answer) => {
  if (!answer) return "type the service account's password";
  if (answer.trim() !== answer) {
    return 'it starts or ends with white space, which the agent drops when it reads the file: give the account a password without it';
  }
  return true;
};

/** A host name or IP address, nothing else: the port is a separate answer. */
export const checkHost: Check = (answer) => {
  const host = answer.trim();
  if (isIP(host) || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) return true;
  return 'a host name or IP address, e.g. mail.corp.example (no smtp://, no :port — the port is asked next)';
};

export const checkPort: Check = (answer) => {
  const port = Number(answer.trim());
  return (/^\d+$/.test(answer.trim()) && port >= 1 && port <= 65535) || 'a port number from 1 to 65535 (587 for submission with STARTTLS, 465 for TLS, 25)';
};

const ADDRESS = /^[^\s@<>",]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** The sender of codes and notices: an address, optionally with a display name in front. */
export const checkSender: Check = (answer) => {
  const text = answer.trim();
  const named = /^(.*\S)\s*<([^<>]+)>$/.exec(text);
  if (ADDRESS.test(named ? (named[2] as string) : text)) return true;
  return 'an e-mail address, e.g. it@corp.example or IT <it@corp.example>';
};

/** Blank means "the system's CAs"; otherwise a readable PEM file, as Node's TLS takes it. */
export const checkCaFile: Check = (answer) => {
  const path = answer.trim();
  if (!path) return true;
  try {
    if (!statSync(path).isFile()) return `${path} is not a file: give the CA certificate's PEM file`;
    accessSync(path, constants.R_OK);
    if (!readFileSync(path, 'utf8').includes('-----BEGIN CERTIFICATE-----')) {
      return `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); convert a DER file with: openssl x509 -inform der -in FILE -out ca.pem`;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path} (${code ?? 'error'}): check its permissions`;
  }
  return true;
};

function parseUrl(text: string): URL | undefined {
  if (/\s/.test(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
