/**
 * protocol/crypto.ts: the primitives, their parameters, the one generic CryptoError, and the
 * labels/AAD as docs/protocol.md writes them down (so a second implementation could follow it).
 * Known-answer coverage of the primitives themselves is in wycheproof-*.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromBase64Url, fromUtf8, randomBytes, toBase64Url, toHex, utf8 } from '../../protocol/bytes.ts';
import { SealedChannel } from '../../protocol/channel.ts';
import {
  AES_KEY_BYTES,
  aesGcmOpen,
  aesGcmSeal,
  CryptoError,
  exportPkcs8,
  exportSpki,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  importAesKey,
  importEncryptionPrivateKey,
  importEncryptionPublicKey,
  importSigningPrivateKey,
  importSigningPublicKey,
  label,
  RSA_MODULUS_BITS,
  RSA_OAEP_IMPORT,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  sha256,
  signP1363,
  subtle,
  useSubtle,
  verifyP1363,
} from '../../protocol/crypto.ts';

const GENERIC = new CryptoError();

function isGeneric(err: unknown): true {
  assert.ok(err instanceof CryptoError, `expected CryptoError, got ${String(err)}`);
  assert.equal(err.name, GENERIC.name);
  assert.equal(err.code, GENERIC.code);
  assert.equal(err.message, GENERIC.message);
  return true;
}

const PROTOCOL_MD = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));

/** The backticked `unlatch/v1…` templates in docs/protocol.md that contain `word`. */
function documentedTemplate(word: string): string {
  const doc = readFileSync(PROTOCOL_MD, 'utf8');
  const found = [...doc.matchAll(/`(unlatch\/v1[^`]*)`/g)].map((m) => m[1] as string).filter((t) => t.includes(word));
  assert.equal(found.length, 1, `expected one documented unlatch/v1 template containing "${word}", found: ${found.join(' ; ')}`);
  return found[0] as string;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/<([a-z]+)>/g, (_, name: string) => {
    assert.ok(name in values, `no value for <${name}> in ${template}`);
    return values[name] as string;
  });
}

describe('crypto primitives', function () {
  describe('CryptoError', function () {
    it('is one class with one name, code and message, revealing nothing', function () {
      const a = new CryptoError();
      const b = new CryptoError();
      assert.ok(a instanceof Error);
      assert.equal(a.name, 'CryptoError');
      assert.equal(a.code, 'CRYPTO_FAILED');
      assert.equal(a.message, b.message);
      assert.equal(a.cause, undefined);
    });
  });

  describe('sha256', function () {
    it('matches the FIPS 180-2 "abc" and empty-string vectors', async function () {
      assert.equal(toHex(await sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      assert.equal(toHex(await sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    });
  });

  describe('AES-256-GCM', function () {
    it('importAesKey takes exactly 32 bytes; anything else is the generic CryptoError', async function () {
      assert.equal(AES_KEY_BYTES, 32);
      const key = await importAesKey(randomBytes(32));
      assert.equal((key.algorithm as AesKeyAlgorithm).length, 256);
      assert.equal(key.extractable, false);
      for (const n of [0, 16, 24, 31, 33, 64]) await assert.rejects(importAesKey(randomBytes(n)), isGeneric, `${n} bytes`);
    });

    it('seals with a 96-bit nonce and a 128-bit tag, and opens what it sealed', async function () {
      assert.equal(GCM_NONCE_BYTES, 12);
      assert.equal(GCM_TAG_BYTES, 16);
      const key = await importAesKey(randomBytes(32));
      const nonce = randomBytes(12);
      const aad = utf8('context');
      for (const length of [0, 1, 16, 255, 4096]) {
        const plain = randomBytes(length);
        const sealed = await aesGcmSeal(key, nonce, plain, aad);
        assert.equal(sealed.length, length + 16);
        assert.deepEqual(await aesGcmOpen(key, nonce, sealed, aad), plain);
      }
    });

    it('a wrong key, nonce, AAD, tag or length all give the generic CryptoError', async function () {
      const key = await importAesKey(randomBytes(32));
      const nonce = randomBytes(12);
      const aad = utf8('context');
      const sealed = await aesGcmSeal(key, nonce, utf8('secret'), aad);
      const flipped = sealed.slice();
      flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
      const attempts: Array<[string, Promise<unknown>]> = [
        ['other key', aesGcmOpen(await importAesKey(randomBytes(32)), nonce, sealed, aad)],
        ['other nonce', aesGcmOpen(key, randomBytes(12), sealed, aad)],
        ['other aad', aesGcmOpen(key, nonce, sealed, utf8('contexT'))],
        ['no aad', aesGcmOpen(key, nonce, sealed, new Uint8Array(0))],
        ['flipped tag', aesGcmOpen(key, nonce, flipped, aad)],
        ['truncated', aesGcmOpen(key, nonce, sealed.slice(0, -1), aad)],
        ['shorter than a tag', aesGcmOpen(key, nonce, sealed.slice(0, 15), aad)],
        ['empty', aesGcmOpen(key, nonce, new Uint8Array(0), aad)],
        ['empty nonce', aesGcmOpen(key, new Uint8Array(0), sealed, aad)],
      ];
      for (const [name, p] of attempts) await assert.rejects(p, isGeneric, name);
    });
  });

  describe('RSA-OAEP-3072 encryption keys', function () {
    let pair: CryptoKeyPair;
    before(async function () {
      this.timeout(60_000);
      pair = await generateEncryptionKeyPair();
    });

    it('are 3072-bit RSA-OAEP with SHA-256 and e = 65537', function () {
      assert.equal(RSA_MODULUS_BITS, 3072);
      const alg = pair.publicKey.algorithm as RsaHashedKeyAlgorithm;
      assert.equal(alg.name, 'RSA-OAEP');
      assert.equal(alg.modulusLength, 3072);
      assert.equal(alg.hash.name, 'SHA-256');
      assert.deepEqual(Array.from(alg.publicExponent), [1, 0, 1]);
    });

    it('survive SPKI / PKCS#8 export and import, and roundtrip with labels', async function () {
      const pub = await importEncryptionPublicKey(await exportSpki(pair.publicKey));
      const priv = await importEncryptionPrivateKey(await exportPkcs8(pair.privateKey));
      assert.equal(priv.extractable, false);
      const secret = randomBytes(32);
      const sealed = await rsaOaepEncrypt(pub, secret, label('session', 'acme', 'sid'));
      assert.equal(sealed.length, 384);
      assert.deepEqual(await rsaOaepDecrypt(priv, sealed, label('session', 'acme', 'sid')), secret);
      await assert.rejects(rsaOaepDecrypt(priv, sealed, label('session', 'acme', 'sie')), isGeneric);
      await assert.rejects(rsaOaepDecrypt(priv, sealed), isGeneric);
      // Without a label on either side it still works (the default is the empty label).
      assert.deepEqual(await rsaOaepDecrypt(priv, await rsaOaepEncrypt(pub, secret)), secret);
    });

    it('importEncryptionPublicKey refuses a freshly made 2048-bit key with the generic CryptoError', async function () {
      const weak = (await subtle().generateKey(
        { ...RSA_OAEP_IMPORT, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
        true,
        ['encrypt', 'decrypt'],
      )) as CryptoKeyPair;
      await assert.rejects(importEncryptionPublicKey(await exportSpki(weak.publicKey)), isGeneric);
    });

    it('rsaOaepDecrypt failures are all the same error (no padding oracle)', async function () {
      const other = await importEncryptionPrivateKey(await exportPkcs8(pair.privateKey));
      const sealed = await rsaOaepEncrypt(pair.publicKey, utf8('x'));
      const bad = sealed.slice();
      bad[0] = (bad[0] as number) ^ 0x80;
      for (const ct of [bad, sealed.slice(1), new Uint8Array(0), new Uint8Array(384), new Uint8Array(385).fill(0xff)]) {
        await assert.rejects(rsaOaepDecrypt(other, ct), isGeneric);
      }
    });
  });

  describe('ECDSA P-256 signing keys (P1363 signatures)', function () {
    let pair: CryptoKeyPair;
    before(async function () {
      pair = await generateSigningKeyPair();
    });

    it('sign 64-byte r ‖ s signatures that verify after SPKI / PKCS#8 roundtrips', async function () {
      assert.equal((pair.publicKey.algorithm as EcKeyAlgorithm).namedCurve, 'P-256');
      const signer = await importSigningPrivateKey(await exportPkcs8(pair.privateKey));
      const verifier = await importSigningPublicKey(await exportSpki(pair.publicKey));
      const data = utf8('payload');
      const sig = await signP1363(signer, data);
      assert.equal(sig.length, 64);
      assert.equal(await verifyP1363(verifier, sig, data), true);
      assert.equal(await verifyP1363(verifier, sig, utf8('payloaD')), false);
    });

    it('verifyP1363 answers false, never throws, for malformed signatures or unsuitable keys', async function () {
      const data = utf8('payload');
      const sig = await signP1363(pair.privateKey, data);
      for (const bad of [new Uint8Array(0), sig.slice(0, 63), new Uint8Array([...sig, 0]), new Uint8Array(64), new Uint8Array(64).fill(0xff), randomBytes(72)]) {
        assert.equal(await verifyP1363(pair.publicKey, bad, data), false);
      }
      const rsa = await generateEncryptionKeyPairFast();
      assert.equal(await verifyP1363(rsa.publicKey, sig, data), false);
      assert.equal(await verifyP1363(pair.privateKey, sig, data), false);
    });
  });

  describe('useSubtle', function () {
    it('switches the SubtleCrypto in use and back', function () {
      const fake = {} as SubtleCrypto;
      try {
        useSubtle(fake);
        assert.equal(subtle(), fake);
      } finally {
        useSubtle(undefined);
      }
      assert.equal(subtle(), globalThis.crypto.subtle);
    });
  });

  describe('labels and AAD match docs/protocol.md', function () {
    it('label() joins unlatch/v1 and its parts with |', function () {
      assert.equal(fromUtf8(label('a', 'b')), 'unlatch/v1|a|b');
    });

    it('the session-key wrap label is the documented one', function () {
      const documented = fill(documentedTemplate('session'), { tenant: 'acme', sid: 'SID' });
      assert.equal(fromUtf8(label('session', 'acme', 'SID')), documented);
    });

    it('the password-layer label is the documented one', function () {
      const documented = fill(documentedTemplate('password'), { sid: 'SID', field: 'newPassword' });
      assert.equal(fromUtf8(label('password', 'SID', 'newPassword')), documented);
    });

    it('the sealed channel uses the documented AAD', async function () {
      const key = await importAesKey(randomBytes(32));
      const sid = toBase64Url(randomBytes(16));
      const frame = fromBase64Url(await new SealedChannel(key, 'acme', sid, 'client').seal({ op: 'unlock' }));
      const nonce = new Uint8Array(12);
      nonce[0] = 1;
      const aad = utf8(fill(documentedTemplate('<direction>'), { tenant: 'acme', sid, direction: '1', seq: '0' }));
      const plain = fromUtf8(await aesGcmOpen(key, nonce, frame, aad));
      assert.deepEqual(JSON.parse(plain), { op: 'unlock' });
    });
  });
});

/** A 2048-bit RSA key (faster to make); only used where the size does not matter. */
async function generateEncryptionKeyPairFast(): Promise<CryptoKeyPair> {
  return (await subtle().generateKey(
    { ...RSA_OAEP_IMPORT, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['encrypt', 'decrypt'],
  )) as CryptoKeyPair;
}
