/**
 * Provisioning of the test AD domain, with a cache.
 *
 * `samba-tool domain provision` takes ~7 s, almost all of it building the schema and the
 * display specifiers. Every run needs the very same empty domain, so the first run provisions
 * it once into a *template* folder (os.tmpdir()/unlatch-samba-cache/<key>) and every test
 * directory then starts from a plain copy of it (~33 MB, tens of milliseconds) in a fresh temp
 * folder. The key hashes the Samba version, the provisioning options and the seed script, so a
 * Samba upgrade or a change here provisions anew. Set UNLATCH_TEST_DC_NO_CACHE=1 (or pass
 * `cache: false`) to provision straight into the fresh folder instead.
 *
 * What is provisioned (see seed-structure.py for the structure inside the domain):
 *   realm UNLATCH.TEST, NetBIOS domain UNLATCH, DC host name dc1 (dc1.unlatch.test), no DNS
 *   server, Samba services `ldap kdc` only, listening on 127.0.0.1 only, a TLS certificate
 *   from a throwaway CA with SAN IP:127.0.0.1 + DNS:dc1.unlatch.test (so clients verify TLS for
 *   real against 127.0.0.1), `old password allowed period = 0` (an LDAP simple bind no longer
 *   accepts the previous password for an hour after a change; kinit stays the reference).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomPassword } from './passwords.ts';
import { runOk, sambaTools } from './tools.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SEED_SCRIPT = path.join(HERE, 'seed-structure.py');

/** Bump when the layout of a template changes in a way the hash below cannot see. */
const TEMPLATE_FORMAT = 5;

export const REALM = 'UNLATCH.TEST';
export const DNS_DOMAIN = 'unlatch.test';
export const NETBIOS_DOMAIN = 'UNLATCH';
export const DC_HOST = 'dc1';
export const DC_FQDN = `${DC_HOST}.${DNS_DOMAIN}`;
export const LISTEN_ADDRESS = '127.0.0.1';

const SMB_OPTIONS: Record<string, string> = {
  interfaces: LISTEN_ADDRESS,
  'bind interfaces only': 'yes',
  // Only what the tests use: LDAP(S) and the KDC (which includes kpasswd). No DNS, NetBIOS,
  // WINS, replication, winbindd, SMB file server, NTP signing, KCC.
  'server services': 'ldap kdc',
  'panic action': '',
  'log level': '1',
  // Samba accepts the previous password over NTLM-based binds for 60 minutes after a change;
  // 0 makes LDAP binds reflect the current password at once.
  'old password allowed period': '0',
};

export interface ServiceAccountInfo {
  sam: string;
  dn: string;
  upn: string;
  password: string;
}

/** Everything a test directory needs to know about a provisioned domain. Mode 0600 on disk. */
export interface TemplateMeta {
  format: number;
  /** The folder the domain was provisioned in; smb.conf paths are rewritten on copy. */
  builtDir: string;
  provisionMs: number;
  realm: string;
  baseDN: string;
  adminDN: string;
  adminPassword: string;
  peopleDN: string;
  serviceAccountsDN: string;
  scopeGroupDN: string;
  nestedScopeGroupDN: string;
  psoGroupDN: string;
  psoDN: string;
  service: ServiceAccountInfo;
  serviceNoLockout: ServiceAccountInfo;
}

const META_FILE = 'unlatch-meta.json';

function cacheRoot(): string {
  return path.join(os.tmpdir(), 'unlatch-samba-cache');
}

async function templateKey(): Promise<string> {
  const tools = sambaTools();
  const version = (await runOk(tools.samba, ['--version'])).stdout.trim();
  const h = createHash('sha256');
  h.update(JSON.stringify({ TEMPLATE_FORMAT, version, SMB_OPTIONS, REALM, DC_HOST }));
  h.update(readFileSync(SEED_SCRIPT));
  return h.digest('hex').slice(0, 16);
}

/**
 * Provisions the domain into `dir` (which must not exist yet): samba-tool provision, the
 * offline structure seed, the TLS certificate. Returns the metadata (also written to dir).
 */
export async function provisionInto(dir: string, log: (s: string) => void): Promise<TemplateMeta> {
  const tools = sambaTools();
  const t0 = performance.now();
  mkdirSync(dir, { recursive: false, mode: 0o700 });
  const options = Object.entries({
    ...SMB_OPTIONS,
    'log file': path.join(dir, 'log.%m'),
    // Extended attributes (sysvol NT ACLs) in a tdb rather than the file system, so it works
    // on any temp file system (tmpfs, overlayfs in containers), as Samba's own selftest does.
    'posix:eadb': path.join(dir, 'private', 'eadb.tdb'),
  }).map(([k, v]) => `--option=${k}=${v}`);
  // No --adminpass: Samba picks a random one (the real one is set below, through stdin).
  await runOk(
    tools.sambaTool,
    [
      'domain',
      'provision',
      `--realm=${REALM}`,
      `--domain=${NETBIOS_DOMAIN}`,
      '--server-role=dc',
      '--dns-backend=NONE',
      `--host-name=${DC_HOST}`,
      `--targetdir=${dir}`,
      ...options,
    ],
    { timeoutMs: 180_000 },
  );
  log(`test directory: samba-tool provision ${Math.round(performance.now() - t0)} ms`);
  // provision silently drops some --option values (e.g. "old password allowed period"), so
  // make sure every one of ours is in [global]. The pid directory is ours too: not /run/samba,
  // which a system Samba or another test DC would share.
  const confPath = path.join(dir, 'etc', 'smb.conf');
  writeFileSync(
    confPath,
    withGlobalOptions(readFileSync(confPath, 'utf8'), { ...SMB_OPTIONS, 'pid directory': path.join(dir, 'run') }),
  );
  mkdirSync(path.join(dir, 'run'), { mode: 0o700 });

  const adminPassword = randomPassword();
  const service = { sam: 'svc-unlatch', password: randomPassword() };
  const serviceNoLockout = { sam: 'svc-nolockout', password: randomPassword() };
  const seeded = await runOk(tools.python, [SEED_SCRIPT], {
    input: JSON.stringify({
      smbconf: path.join(dir, 'etc', 'smb.conf'),
      adminPassword,
      service,
      serviceNoLockout,
    }),
  });
  const s = JSON.parse(seeded.stdout) as {
    baseDN: string;
    adminDN: string;
    peopleDN: string;
    serviceAccountsDN: string;
    scopeGroupDN: string;
    nestedScopeGroupDN: string;
    psoGroupDN: string;
    psoDN: string;
    service: { dn: string };
    serviceNoLockout: { dn: string };
  };

  await makeCertificate(path.join(dir, 'private', 'tls'));
  writeFileSync(path.join(dir, 'krb5.conf'), krb5Conf());

  const meta: TemplateMeta = {
    format: TEMPLATE_FORMAT,
    builtDir: dir,
    provisionMs: Math.round(performance.now() - t0),
    realm: REALM,
    baseDN: s.baseDN,
    adminDN: s.adminDN,
    adminPassword,
    peopleDN: s.peopleDN,
    serviceAccountsDN: s.serviceAccountsDN,
    scopeGroupDN: s.scopeGroupDN,
    nestedScopeGroupDN: s.nestedScopeGroupDN,
    psoGroupDN: s.psoGroupDN,
    psoDN: s.psoDN,
    service: { ...service, dn: s.service.dn, upn: `${service.sam}@${DNS_DOMAIN}` },
    serviceNoLockout: {
      ...serviceNoLockout,
      dn: s.serviceNoLockout.dn,
      upn: `${serviceNoLockout.sam}@${DNS_DOMAIN}`,
    },
  };
  writeFileSync(path.join(dir, META_FILE), JSON.stringify(meta, null, 2), { mode: 0o600 });
  log(`test directory: provisioned in ${meta.provisionMs} ms`);
  return meta;
}

/** Sets `options` in the [global] section of an smb.conf text (replacing existing values). */
export function withGlobalOptions(conf: string, options: Record<string, string>): string {
  const norm = (k: string) => k.trim().toLowerCase().replace(/\s+/g, ' ');
  const wanted = new Map(Object.entries(options).map(([k, v]) => [norm(k), `\t${k} = ${v}`]));
  const out: string[] = [];
  let section = '';
  const flush = () => {
    if (section === 'global') for (const line of wanted.values()) out.push(line);
    wanted.clear();
  };
  for (const line of conf.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      if (section === 'global') flush();
      section = header[1]!.trim().toLowerCase();
      out.push(line);
      continue;
    }
    const kv = /^\s*([^=#;]+?)\s*=/.exec(line);
    if (section === 'global' && kv && wanted.has(norm(kv[1]!))) {
      out.push(wanted.get(norm(kv[1]!))!);
      wanted.delete(norm(kv[1]!));
      continue;
    }
    out.push(line);
  }
  if (section === 'global') flush();
  return out.join('\n');
}

/** A throwaway CA and a server certificate valid for 127.0.0.1 and dc1.unlatch.test. */
async function makeCertificate(tlsDir: string): Promise<void> {
  const { openssl } = sambaTools();
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const f = (n: string) => path.join(tlsDir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await runOk(openssl, [
    'req', '-x509', ...ec, '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', '3650',
    '-subj', '/O=Unlatch tests/CN=Unlatch test DC CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await runOk(openssl, [
    'req', ...ec, '-keyout', f('key.pem'), '-out', f('req.csr'), '-subj', `/O=Unlatch tests/CN=${DC_FQDN}`,
  ]);
  writeFileSync(
    f('ext.cnf'),
    [
      `subjectAltName=DNS:${DC_FQDN},DNS:localhost,IP:${LISTEN_ADDRESS}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ].join('\n') + '\n',
  );
  await runOk(openssl, [
    'x509', '-req', '-in', f('req.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'),
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-out', f('cert.pem'), '-days', '3650',
    '-extfile', f('ext.cnf'),
  ]);
  // Samba refuses a key file that others can read.
  chmodSync(f('key.pem'), 0o600);
  for (const n of ['ca-key.pem', 'req.csr', 'ext.cnf']) rmSync(f(n), { force: true });
}

function krb5Conf(): string {
  return [
    '[libdefaults]',
    `    default_realm = ${REALM}`,
    '    dns_lookup_realm = false',
    '    dns_lookup_kdc = false',
    '    rdns = false',
    '    udp_preference_limit = 1',
    '[realms]',
    `    ${REALM} = {`,
    `        kdc = ${LISTEN_ADDRESS}`,
    `        admin_server = ${LISTEN_ADDRESS}`,
    `        kpasswd_server = ${LISTEN_ADDRESS}`,
    '    }',
    '[domain_realm]',
    `    .${DNS_DOMAIN} = ${REALM}`,
    `    ${DNS_DOMAIN} = ${REALM}`,
    '',
  ].join('\n');
}

function readMeta(dir: string): TemplateMeta | null {
  try {
    const meta = JSON.parse(readFileSync(path.join(dir, META_FILE), 'utf8')) as TemplateMeta;
    return meta.format === TEMPLATE_FORMAT ? meta : null;
  } catch {
    return null;
  }
}

/** Removes other keys' templates and abandoned build folders (older than an hour). */
function pruneCache(root: string, keep: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === keep) continue;
    const p = path.join(root, name);
    try {
      if (Date.now() - statSync(p).mtimeMs > 3_600_000) rmSync(p, { recursive: true, force: true });
    } catch {
      /* someone else removed it */
    }
  }
}

/**
 * Puts a provisioned domain into the fresh folder `dest` (must not exist) and returns its
 * metadata, from the cache when allowed. `fromCache` says whether provisioning was skipped.
 */
export async function instantiateDomain(
  dest: string,
  opts: { cache: boolean; log: (s: string) => void },
): Promise<{ meta: TemplateMeta; fromCache: boolean }> {
  if (!opts.cache) return { meta: await provisionInto(dest, opts.log), fromCache: false };

  const root = cacheRoot();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const key = await templateKey();
  const templateDir = path.join(root, key);
  let meta = readMeta(templateDir);
  let fromCache = true;
  if (!meta) {
    fromCache = false;
    const build = path.join(root, `build-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      meta = await provisionInto(build, opts.log);
      rmSync(templateDir, { recursive: true, force: true });
      renameSync(build, templateDir);
    } catch (err) {
      rmSync(build, { recursive: true, force: true });
      // Another process may have won the race with an identical template.
      meta = readMeta(templateDir);
      if (!meta) throw err;
    }
    pruneCache(root, key);
  }

  const t0 = performance.now();
  cpSync(templateDir, dest, { recursive: true, preserveTimestamps: true });
  const conf = path.join(dest, 'etc', 'smb.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').split(meta.builtDir).join(dest));
  if (!existsSync(path.join(dest, 'private', 'sam.ldb'))) throw new Error(`template copy into ${dest} is incomplete`);
  opts.log(`test directory: copied template ${key} in ${Math.round(performance.now() - t0)} ms`);
  return { meta: { ...meta, builtDir: dest }, fromCache };
}
