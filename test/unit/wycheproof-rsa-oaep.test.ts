/**
 * Project Wycheproof RSA-OAEP (SHA-256, MGF1-SHA-256) decryption vectors through
 * protocol/crypto.ts: importEncryptionPrivateKey (PKCS#8 from the vector) and rsaOaepDecrypt
 * with the vector's label. Every invalid ciphertext, whether bad padding (Manger's attack) or
 * malformed, must end in the same generic CryptoError: no padding oracle.
 *
 * Also: the 3072-bit file really holds 3072-bit keys, and importEncryptionPublicKey refuses the
 * 2048-bit key (it would quietly lower every session to 112-bit security).
 */
import assert from 'node:assert/strict';
import { fromHex, randomBytes, toBase64Url, toHex, utf8 } from '../../protocol/bytes.ts';
import {
  CryptoError,
  exportSpki,
  importEncryptionPrivateKey,
  importEncryptionPublicKey,
  label,
  RSA_MODULUS_BITS,
  RSA_OAEP_IMPORT,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  subtle,
} from '../../protocol/crypto.ts';
import { CaseTally, caseCount, checkGroup, describeVectors, loadRsaOaep, type RsaOaepCase, type RsaOaepFile, type RsaOaepGroup } from '../support/wycheproof.ts';

const GENERIC = new CryptoError();

const FILES = {
  2048: 'rsa_oaep_2048_sha256_mgf1sha256_test.json',
  3072: 'rsa_oaep_3072_sha256_mgf1sha256_test.json',
} as const;

function notGeneric(err: unknown): string | undefined {
  if (!(err instanceof CryptoError)) return `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} instead of CryptoError`;
  if (err.message !== GENERIC.message || err.name !== GENERIC.name || err.code !== GENERIC.code) {
    return `a CryptoError that differs from the generic one (${err.name}/${err.code}: ${err.message})`;
  }
  return undefined;
}

async function decryptOutcome(key: CryptoKey, ct: Uint8Array<ArrayBuffer>, lbl: Uint8Array<ArrayBuffer>): Promise<{ plain?: Uint8Array; err?: unknown }> {
  try {
    return { plain: await rsaOaepDecrypt(key, ct, lbl) };
  } catch (err) {
    return { err };
  }
}

async function checkCase(key: CryptoKey, t: RsaOaepCase): Promise<string | undefined> {
  const ct = fromHex(t.ct);
  const lbl = fromHex(t.label);
  const { plain, err } = await decryptOutcome(key, ct, lbl);
  if (plain) {
    if (t.result === 'invalid') return 'an invalid ciphertext was decrypted';
    if (toHex(plain) !== t.msg) return `decrypted to ${toHex(plain)}, expected ${t.msg || '(empty)'}`;
    // The label is bound: the same ciphertext under another label must fail, generically.
    const other = await decryptOutcome(key, ct, new Uint8Array([...lbl, 0x00]));
    if (other.plain) return 'the ciphertext also decrypted under a different label';
    const otherProblem = notGeneric(other.err);
    return otherProblem ? `with a different label: ${otherProblem}` : undefined;
  }
  const generic = notGeneric(err);
  if (generic) return generic;
  if (t.result === 'valid') return 'a valid ciphertext was rejected';
  return undefined;
}

async function importGroupKey(group: RsaOaepGroup): Promise<CryptoKey> {
  const key = await importEncryptionPrivateKey(fromHex(group.privateKeyPkcs8));
  const alg = key.algorithm as RsaHashedKeyAlgorithm;
  assert.equal(alg.name, 'RSA-OAEP');
  assert.equal(alg.hash.name, 'SHA-256');
  assert.equal(alg.modulusLength, group.keySize, 'the imported key size differs from the group keySize');
  return key;
}

/** The group's public key as SPKI, from the modulus and exponent of its JWK form. */
async function publicSpki(group: RsaOaepGroup): Promise<Uint8Array<ArrayBuffer>> {
  const { n, e } = group.privateKeyJwk;
  const pub = await subtle().importKey('jwk', { kty: 'RSA', n, e, alg: 'RSA-OAEP-256', ext: true }, RSA_OAEP_IMPORT, true, ['encrypt']);
  return exportSpki(pub);
}

function checkParameters(vectors: RsaOaepFile): void {
  for (const g of vectors.testGroups) {
    assert.equal(g.sha, 'SHA-256');
    assert.equal(g.mgf, 'MGF1');
    assert.equal(g.mgfSha, 'SHA-256');
  }
}

for (const [bits, file] of Object.entries(FILES)) {
  const title = (v: RsaOaepFile) => `Wycheproof RSA-OAEP-${bits} SHA-256/MGF1-SHA-256 (${file}: ${v.numberOfTests} cases in ${v.testGroups.length} group(s))`;
  describeVectors(file, loadRsaOaep, title, (vectors) => {
    const tally = new CaseTally();

    it('uses SHA-256 and MGF1-SHA-256, as Unlatch does', function () {
      checkParameters(vectors);
    });

    vectors.testGroups.forEach((group, index) => {
      it(`group ${index + 1}, ${group.keySize}-bit key: ${group.tests.length} case(s), invalid ones all give the one generic CryptoError`, async function () {
        const key = await importGroupKey(group);
        await checkGroup(group.tests, tally, (t) => checkCase(key, t));
      });
    });

    it(`checked all ${vectors.numberOfTests} cases`, function () {
      assert.equal(caseCount(vectors), vectors.numberOfTests, 'the groups do not add up to numberOfTests');
      assert.equal(tally.count, vectors.numberOfTests, `only ${tally.count} of ${vectors.numberOfTests} cases were checked`);
      const expected = { valid: 0, invalid: 0, acceptable: 0 };
      for (const g of vectors.testGroups) for (const t of g.tests) expected[t.result]++;
      assert.deepEqual(tally.outcomes, expected);
      this.test!.title += ` (${expected.valid} valid, ${expected.invalid} invalid, ${expected.acceptable} acceptable)`;
    });
  });
}

describe('RSA-OAEP key size (importEncryptionPublicKey)', function () {
  // Read inside the tests, so a missing file fails them rather than the whole run.
  let v2048: RsaOaepFile;
  let v3072: RsaOaepFile;
  before(function () {
    v2048 = loadRsaOaep(FILES[2048]);
    v3072 = loadRsaOaep(FILES[3072]);
  });

  it('the 3072-bit vector file really holds 3072-bit keys', async function () {
    assert.equal(RSA_MODULUS_BITS, 3072);
    for (const group of v3072.testGroups) {
      assert.equal(group.keySize, 3072);
      const n = fromBase64UrlLoose(group.privateKeyJwk.n);
      assert.equal(n.length, 384, 'modulus is not 384 bytes');
      assert.ok(((n[0] as number) & 0x80) !== 0, 'modulus top bit is clear: fewer than 3072 bits');
      const key = await importGroupKey(group);
      assert.equal((key.algorithm as RsaHashedKeyAlgorithm).modulusLength, 3072);
      const pub = await importEncryptionPublicKey(await publicSpki(group));
      assert.equal((pub.algorithm as RsaHashedKeyAlgorithm).modulusLength, 3072);
    }
  });

  it('refuses the 2048-bit public key from the vectors with the generic CryptoError', async function () {
    for (const group of v2048.testGroups) {
      assert.equal(group.keySize, 2048);
      const spki = await publicSpki(group);
      await assert.rejects(importEncryptionPublicKey(spki), (err: unknown) => {
        assert.equal(notGeneric(err), undefined);
        return true;
      });
    }
  });

  it('a session key wrapped to the 3072-bit vector key unwraps with its private key, and only under the same label', async function () {
    const group = v3072.testGroups[0] as RsaOaepGroup;
    const pub = await importEncryptionPublicKey(await publicSpki(group));
    const priv = await importGroupKey(group);
    const sid = toBase64Url(randomBytes(16));
    const sessionKey = randomBytes(32);
    const wrapped = await rsaOaepEncrypt(pub, sessionKey, label('session', 'acme', sid));
    assert.equal(wrapped.length, 384);
    assert.deepEqual(await rsaOaepDecrypt(priv, wrapped, label('session', 'acme', sid)), sessionKey);
    for (const wrong of [label('session', 'acme', `${sid}x`), label('session', 'other', sid), label('password', sid, 'newPassword'), utf8('')]) {
      await assert.rejects(rsaOaepDecrypt(priv, wrapped, wrong), (err: unknown) => notGeneric(err) === undefined);
    }
  });
});

/** JWK members are unpadded base64url; Wycheproof's are canonical, so this is plain decoding. */
function fromBase64UrlLoose(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}
