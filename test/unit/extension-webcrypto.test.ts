/**
 * The WebCrypto fallback: feature detection finds a missing algorithm, and webcrypto-liner
 * (what the pages load only then) runs the real protocol through protocol/crypto.ts.
 */
import assert from 'node:assert/strict';
import * as liner from 'webcrypto-liner';
import { signingKeyPin, signBundle, verifyBundle } from '../../protocol/bundle.ts';
import { exportSpki, generateEncryptionKeyPair, generateSigningKeyPair, useSubtle } from '../../protocol/crypto.ts';
import { decryptPassword, encryptPassword } from '../../protocol/password.ts';
import { rsaOaepSha256Encrypt, withBigIntRsaOaep } from '../../extension/lib/rsa-oaep.ts';
import { missingAlgorithms } from '../../extension/lib/webcrypto-support.ts';

const { Crypto: LinerCrypto } = liner as unknown as { Crypto: new () => { subtle: SubtleCrypto } };

describe('WebCrypto support', () => {
  describe('missingAlgorithms()', () => {
    it('finds nothing missing in a complete WebCrypto', async () => {
      assert.deepEqual(await missingAlgorithms(globalThis.crypto.subtle), []);
    });

    it('finds the algorithm a browser refuses', async () => {
      const real = globalThis.crypto.subtle;
      const noEcdsa = new Proxy(real, {
        get(target, prop) {
          if (prop === 'generateKey') {
            return (alg: AlgorithmIdentifier & { name?: string }, ...rest: unknown[]) =>
              alg.name === 'ECDSA' ? Promise.reject(new DOMException('NotSupportedError')) : (target.generateKey as (...a: unknown[]) => unknown)(alg, ...rest);
          }
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      assert.deepEqual(await missingAlgorithms(noEcdsa), ['ECDSA-P256']);
      assert.equal((await missingAlgorithms(undefined)).length, 4);
    });
  });

  describe('rsaOaepSha256Encrypt()', () => {
    it('produces what native WebCrypto decrypts, for 2048, 3072 and 4096-bit keys, with a label', async function () {
      this.timeout(60_000);
      const subtle = globalThis.crypto.subtle;
      const digest = async (d: Uint8Array<ArrayBuffer>) => new Uint8Array(await subtle.digest('SHA-256', d));
      for (const bits of [2048, 3072, 4096]) {
        const pair = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt']);
        const jwk = await subtle.exportKey('jwk', pair.publicKey);
        const label = new TextEncoder().encode('unlatch/v1/session|acme|sid');
        const message = globalThis.crypto.getRandomValues(new Uint8Array(32));
        const sealed = await rsaOaepSha256Encrypt(digest, Buffer.from(jwk.n as string, 'base64url'), Buffer.from(jwk.e as string, 'base64url'), message, label);
        const opened = new Uint8Array(await subtle.decrypt({ name: 'RSA-OAEP', label }, pair.privateKey, sealed));
        assert.deepEqual(opened, message, `${bits} bits`);
      }
    });

    it('is needed: webcrypto-liner alone gets 3072-bit RSA-OAEP wrong', async function () {
      this.timeout(60_000);
      const subtle = globalThis.crypto.subtle;
      const pair = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt']);
      const ls = new LinerCrypto().subtle;
      const key = await ls.importKey('spki', await subtle.exportKey('spki', pair.publicKey), { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt']);
      const sealed = await ls.encrypt({ name: 'RSA-OAEP' }, key, new Uint8Array([1, 2, 3]));
      await assert.rejects(subtle.decrypt({ name: 'RSA-OAEP' }, pair.privateKey, sealed));
    });
  });

  describe('webcrypto-liner as the protocol\'s SubtleCrypto', () => {
    afterEach(() => useSubtle(undefined));

    it('verifies a bundle and seals a password that the agent (native WebCrypto) opens', async function () {
      this.timeout(60_000);
      const signing = await generateSigningKeyPair();
      const enc = await generateEncryptionKeyPair();
      const signingSpki = await exportSpki(signing.publicKey);
      const bundle = await signBundle(
        { v: 1, tenant: 'acme', issued: Date.now(), keys: [{ kid: 'k1', spki: Buffer.from(await exportSpki(enc.publicKey)).toString('base64url'), notAfter: Date.now() + 60_000 }] },
        signing.privateKey,
        signingSpki,
      );
      const pin = await signingKeyPin(signingSpki);
      useSubtle(withBigIntRsaOaep(new LinerCrypto().subtle));
      const [key] = await verifyBundle(bundle, { pin, tenant: 'acme' });
      assert.ok(key);
      const sealed = await encryptPassword(key.key, 'sid', 'newPassword', 'Correct-Horse-7');
      useSubtle(undefined);
      assert.equal(await decryptPassword(enc.privateKey, 'sid', 'newPassword', sealed), 'Correct-Horse-7');
    });
  });
});
