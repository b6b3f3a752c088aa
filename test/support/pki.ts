/**
 * A throwaway certificate authority for tests, so relay and SMTP run real TLS on loopback and
 * clients verify it for real (no rejectUnauthorized: false anywhere).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Paths of the same, for configs that take files. */
  files: { ca: string; cert: string; key: string };
  dir: string;
  cleanup(): void;
}

let cached: TestPki | undefined;

/** One CA and one leaf for localhost / 127.0.0.1, made once per test process. */
export function testPki(): TestPki {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'unlatch-pki-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Unlatch Test CA',
    '-keyout', f('ca.key'), '-out', f('ca.pem'), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', f('leaf.key'), '-out', f('leaf.csr'));
  writeFileSync(f('leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('leaf.ext'), '-out', f('leaf.pem'));
  cached = {
    caPem: readFileSync(f('ca.pem'), 'utf8'),
    certPem: readFileSync(f('leaf.pem'), 'utf8'),
    keyPem: readFileSync(f('leaf.key'), 'utf8'),
    files: { ca: f('ca.pem'), cert: f('leaf.pem'), key: f('leaf.key') },
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  process.once('exit', () => cached?.cleanup());
  return cached;
}
