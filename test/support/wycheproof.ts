/**
 * A small typed loader for the Project Wycheproof vectors that live beside the repository in
 * ../shared/vectors/wycheproof (see SOURCE.md there). The vectors are data we do not own, so
 * tests read them from that directory at run time and never copy them into the project.
 * `UNLATCH_VECTORS` overrides the directory.
 *
 * Loading is synchronous on purpose: mocha builds one `it` per test group while it collects
 * the suites, before any hook could run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofCase {
  tcId: number;
  comment: string;
  flags: string[];
  result: WycheproofResult;
}

export interface WycheproofGroup<T extends WycheproofCase> {
  type: string;
  tests: T[];
}

export interface WycheproofFile<G extends WycheproofGroup<WycheproofCase>> {
  algorithm: string;
  schema: string;
  numberOfTests: number;
  header: string[];
  notes: Record<string, { bugType?: string; description?: string }>;
  testGroups: G[];
}

// ---- aead_test_schema_v1.json (AES-GCM) ------------------------------------------------------

export interface AeadCase extends WycheproofCase {
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
}

export interface AeadGroup extends WycheproofGroup<AeadCase> {
  type: 'AeadTest';
  keySize: number;
  ivSize: number;
  tagSize: number;
}

// ---- ecdsa_p1363_verify_schema_v1.json -------------------------------------------------------

export interface SignatureCase extends WycheproofCase {
  msg: string;
  sig: string;
}

export interface EcdsaP1363Group extends WycheproofGroup<SignatureCase> {
  type: 'EcdsaP1363Verify';
  sha: string;
  publicKey: { type: string; curve: string; keySize: number; uncompressed: string; wx: string; wy: string };
  /** SPKI, hex. */
  publicKeyDer: string;
  publicKeyPem: string;
}

// ---- rsaes_oaep_decrypt_schema_v1.json -------------------------------------------------------

export interface RsaOaepCase extends WycheproofCase {
  msg: string;
  ct: string;
  label: string;
}

export interface RsaOaepGroup extends WycheproofGroup<RsaOaepCase> {
  type: 'RsaesOaepDecrypt';
  keySize: number;
  sha: string;
  mgf: string;
  mgfSha: string;
  /** PKCS#8, hex. */
  privateKeyPkcs8: string;
  privateKeyPem: string;
  privateKeyJwk: { kty: 'RSA'; n: string; e: string; d: string; p: string; q: string; dp: string; dq: string; qi: string };
}

export type AeadFile = WycheproofFile<AeadGroup>;
export type EcdsaP1363File = WycheproofFile<EcdsaP1363Group>;
export type RsaOaepFile = WycheproofFile<RsaOaepGroup>;

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where the vectors are: $UNLATCH_VECTORS, else ../shared/vectors/wycheproof beside the repo. */
export function vectorsDir(): string {
  const override = process.env['UNLATCH_VECTORS'];
  return override ? resolve(override) : resolve(REPO_ROOT, '..', 'shared', 'vectors', 'wycheproof');
}

const SCHEMAS = {
  'aead_test_schema_v1.json': 'AeadTest',
  'ecdsa_p1363_verify_schema_v1.json': 'EcdsaP1363Verify',
  'rsaes_oaep_decrypt_schema_v1.json': 'RsaesOaepDecrypt',
} as const;
type Schema = keyof typeof SCHEMAS;

/**
 * Reads one vector file and checks the shape we rely on, so a missing or truncated file fails
 * loudly instead of letting a test check nothing.
 */
function load<F extends WycheproofFile<WycheproofGroup<WycheproofCase>>>(file: string, schema: Schema): F {
  const path = resolve(vectorsDir(), file);
  if (!existsSync(path)) {
    throw new Error(`Wycheproof vectors not found at ${path}; set UNLATCH_VECTORS to the directory that holds ${file}`);
  }
  const data = JSON.parse(readFileSync(path, 'utf8')) as F;
  const fail = (why: string): never => {
    throw new Error(`${path}: ${why}`);
  };
  if (data.schema !== schema) fail(`schema is ${String(data.schema)}, expected ${schema}`);
  if (!Number.isInteger(data.numberOfTests) || data.numberOfTests <= 0) fail('numberOfTests is missing');
  if (!Array.isArray(data.testGroups) || data.testGroups.length === 0) fail('no testGroups');
  for (const group of data.testGroups) {
    if (group.type !== SCHEMAS[schema]) fail(`group type ${String(group.type)}, expected ${SCHEMAS[schema]}`);
    if (!Array.isArray(group.tests) || group.tests.length === 0) fail('a group has no tests');
    for (const t of group.tests) {
      if (!Number.isInteger(t.tcId) || !['valid', 'invalid', 'acceptable'].includes(t.result)) fail(`malformed test case ${JSON.stringify(t).slice(0, 80)}`);
    }
  }
  return data;
}

export function loadAead(file: string): AeadFile {
  return load<AeadFile>(file, 'aead_test_schema_v1.json');
}

export function loadEcdsaP1363(file: string): EcdsaP1363File {
  return load<EcdsaP1363File>(file, 'ecdsa_p1363_verify_schema_v1.json');
}

export function loadRsaOaep(file: string): RsaOaepFile {
  return load<RsaOaepFile>(file, 'rsaes_oaep_decrypt_schema_v1.json');
}

/** Total cases over all groups (to hold against the file's own numberOfTests). */
export function caseCount(file: WycheproofFile<WycheproofGroup<WycheproofCase>>): number {
  return file.testGroups.reduce((n, g) => n + g.tests.length, 0);
}

/** "tcId 42 (modified tag) [ModifiedTag]": how a failure names its case. */
export function describeCase(t: WycheproofCase): string {
  return `tcId ${t.tcId}${t.comment ? ` (${t.comment})` : ''} [${t.flags.join(', ')}] result=${t.result}`;
}

/**
 * Counts the cases one file's tests have checked, so a closing test can prove none was skipped.
 * Every case is counted whether it passed or failed; failures are reported by the group's test.
 */
export class CaseTally {
  private readonly seen = new Set<number>();
  readonly outcomes = { valid: 0, invalid: 0, acceptable: 0 };

  record(t: WycheproofCase): void {
    if (this.seen.has(t.tcId)) throw new Error(`tcId ${t.tcId} checked twice`);
    this.seen.add(t.tcId);
    this.outcomes[t.result]++;
  }

  get count(): number {
    return this.seen.size;
  }
}

/**
 * Runs `check` over every case of a group, collecting failures instead of stopping at the
 * first, and throws one error that names each failing tcId and comment.
 */
export async function checkGroup<T extends WycheproofCase>(
  tests: T[],
  tally: CaseTally,
  check: (t: T) => Promise<string | undefined>,
): Promise<void> {
  const failures: string[] = [];
  for (const t of tests) {
    let problem: string | undefined;
    try {
      problem = await check(t);
    } catch (err) {
      problem = `crashed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    }
    tally.record(t);
    if (problem) failures.push(`${describeCase(t)}: ${problem}`);
  }
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${tests.length} case(s) failed:\n  ${failures.join('\n  ')}`);
  }
}

/**
 * A mocha `describe` over one vector file. If the file cannot be read, the suite still appears
 * with one failing test that says why, instead of aborting the whole mocha run.
 */
export function describeVectors<F extends WycheproofFile<WycheproofGroup<WycheproofCase>>>(
  file: string,
  load: (file: string) => F,
  title: (vectors: F) => string,
  body: (vectors: F) => void,
): void {
  let vectors: F;
  try {
    vectors = load(file);
  } catch (err) {
    describe(`Wycheproof ${file}`, function () {
      it('reads the vector file', function () {
        throw err;
      });
    });
    return;
  }
  describe(title(vectors), function () {
    body(vectors);
  });
}
