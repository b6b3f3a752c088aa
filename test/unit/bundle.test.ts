/**
 * The agent's signed key bundle (docs/protocol.md, "Key bundle"): what a client checks before it
 * wraps a session key to anyone. The relay hands bundles out but must not be able to forge,
 * alter, downgrade or redirect one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fromBase64Url, toBase64Url, utf8 } from '../../protocol/bytes.ts';
import { BundleError, type BundlePayload, signBundle, signingKeyPin, verifyBundle } from '../../protocol/bundle.ts';
import {
  exportSpki,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  RSA_OAEP_IMPORT,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  signP1363,
  subtle,
} from '../../protocol/crypto.ts';
import type { SignedBundle } from '../../protocol/envelope.ts';

const TENANT = 'acme';
const NOW = Date.UTC(2026, 0, 15);
const DAY = 86_400_000;

type Code = BundleError['code'];

async function rejectsWith(p: Promise<unknown>, code: Code, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected BundleError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.name, 'BundleError');
    if (message) assert.match(err.message, message);
    return true;
  });
}

function flipBit(b64u: string, byteIndex: number): string {
  const bytes = fromBase64Url(b64u);
  const i = byteIndex < 0 ? bytes.length + byteIndex : byteIndex;
  bytes[i] = (bytes[i] as number) ^ 0x01;
  return toBase64Url(bytes);
}

describe('key bundle', function () {
  let signer: CryptoKeyPair;
  let signerSpki: Uint8Array<ArrayBuffer>;
  let pin: string;
  let current: CryptoKeyPair;
  let previous: CryptoKeyPair;
  let currentSpki: string;
  let previousSpki: string;
  let weakSpki: string;

  before(async function () {
    this.timeout(60_000);
    signer = await generateSigningKeyPair();
    signerSpki = await exportSpki(signer.publicKey);
    pin = await signingKeyPin(signerSpki);
    [current, previous] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
    currentSpki = toBase64Url(await exportSpki(current.publicKey));
    previousSpki = toBase64Url(await exportSpki(previous.publicKey));
    const weak = (await subtle().generateKey(
      { ...RSA_OAEP_IMPORT, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
      true,
      ['encrypt', 'decrypt'],
    )) as CryptoKeyPair;
    weakSpki = toBase64Url(await exportSpki(weak.publicKey));
  });

  function payload(overrides: Partial<BundlePayload> = {}): BundlePayload {
    return {
      v: 1,
      tenant: TENANT,
      issued: NOW - DAY,
      keys: [
        { kid: 'k2', spki: currentSpki, notAfter: NOW + 180 * DAY },
        { kid: 'k1', spki: previousSpki, notAfter: NOW + 10 * DAY },
      ],
      ...overrides,
    };
  }

  function sign(p: BundlePayload): Promise<SignedBundle> {
    return signBundle(p, signer.privateKey, signerSpki);
  }

  /** A properly signed bundle around arbitrary payload bytes (to reach the payload checks). */
  async function signRaw(bytes: Uint8Array<ArrayBuffer>): Promise<SignedBundle> {
    return { payload: toBase64Url(bytes), sig: toBase64Url(await signP1363(signer.privateKey, bytes)), signingKey: toBase64Url(signerSpki) };
  }

  const expected = () => ({ pin, tenant: TENANT, now: NOW });

  describe('sign and verify', function () {
    it('verifies a signed bundle and returns its keys, current first', async function () {
      const keys = await verifyBundle(await sign(payload()), expected());
      assert.deepEqual(
        keys.map((k) => [k.kid, k.notAfter]),
        [
          ['k2', NOW + 180 * DAY],
          ['k1', NOW + 10 * DAY],
        ],
      );
    });

    it('returns keys that really are the agent\'s: what a client wraps, the agent unwraps', async function () {
      const [k2, k1] = await verifyBundle(await sign(payload()), expected());
      const secret = utf8('session key bytes');
      assert.deepEqual(await rsaOaepDecrypt(current.privateKey, await rsaOaepEncrypt(k2!.key, secret)), secret);
      assert.deepEqual(await rsaOaepDecrypt(previous.privateKey, await rsaOaepEncrypt(k1!.key, secret)), secret);
    });

    it('keeps the payload order: the first key is current even if it expires sooner', async function () {
      const keys = await verifyBundle(
        await sign(payload({ keys: [payload().keys[1]!, payload().keys[0]!] })),
        expected(),
      );
      assert.deepEqual(keys.map((k) => k.kid), ['k1', 'k2']);
    });

    it('uses the clock when no time is given', async function () {
      const keys = await verifyBundle(
        await sign(payload({ keys: [{ kid: 'k', spki: currentSpki, notAfter: Date.now() + DAY }] })),
        { pin, tenant: TENANT },
      );
      assert.deepEqual(keys.map((k) => k.kid), ['k']);
    });

    it('the pin is base64url(SHA-256(signing key SPKI)), 43 characters', async function () {
      assert.equal(pin, createHash('sha256').update(signerSpki).digest('base64url'));
      assert.match(pin, /^[A-Za-z0-9_-]{43}$/);
      const bundle = await sign(payload());
      assert.equal(bundle.signingKey, toBase64Url(signerSpki));
      assert.equal(fromBase64Url(bundle.sig).length, 64, 'P1363 signature r ‖ s');
    });
  });

  describe('pin', function () {
    it('no pin in policy → KEY_PIN_MISSING', async function () {
      const bundle = await sign(payload());
      await rejectsWith(verifyBundle(bundle, { pin: undefined, tenant: TENANT, now: NOW }), 'KEY_PIN_MISSING');
      await rejectsWith(verifyBundle(bundle, { pin: '', tenant: TENANT, now: NOW }), 'KEY_PIN_MISSING');
    });

    it('another key\'s pin → KEY_PIN_MISMATCH', async function () {
      const other = await generateSigningKeyPair();
      const otherPin = await signingKeyPin(await exportSpki(other.publicKey));
      await rejectsWith(verifyBundle(await sign(payload()), { pin: otherPin, tenant: TENANT, now: NOW }), 'KEY_PIN_MISMATCH');
      await rejectsWith(verifyBundle(await sign(payload()), { pin: flipBit(pin, 0), tenant: TENANT, now: NOW }), 'KEY_PIN_MISMATCH');
    });

    it('during a signing-key rollover accepts a key matching either pin, and no other', async function () {
      const other = await generateSigningKeyPair();
      const otherPin = await signingKeyPin(await exportSpki(other.publicKey));
      const bundle = await sign(payload());
      assert.equal((await verifyBundle(bundle, { pin: [otherPin, pin], tenant: TENANT, now: NOW })).length, 2);
      assert.equal((await verifyBundle(bundle, { pin: [pin, undefined], tenant: TENANT, now: NOW })).length, 2);
      await rejectsWith(verifyBundle(bundle, { pin: [otherPin, flipBit(pin, 0)], tenant: TENANT, now: NOW }), 'KEY_PIN_MISMATCH');
      await rejectsWith(verifyBundle(bundle, { pin: [], tenant: TENANT, now: NOW }), 'KEY_PIN_MISSING');
      await rejectsWith(verifyBundle(bundle, { pin: [undefined, ''], tenant: TENANT, now: NOW }), 'KEY_PIN_MISSING');
    });

    it('a bundle the relay signed with its own key → KEY_PIN_MISMATCH', async function () {
      const relay = await generateSigningKeyPair();
      const forged = await signBundle(payload(), relay.privateKey, await exportSpki(relay.publicKey));
      await rejectsWith(verifyBundle(forged, expected()), 'KEY_PIN_MISMATCH');
    });
  });

  describe('tampering → BUNDLE_INVALID', function () {
    it('a changed payload under the original signature', async function () {
      const bundle = await sign(payload());
      const changed = toBase64Url(utf8(JSON.stringify(payload({ keys: [{ kid: 'k2', spki: currentSpki, notAfter: NOW + 9999 * DAY }] }))));
      await rejectsWith(verifyBundle({ ...bundle, payload: changed }, expected()), 'BUNDLE_INVALID', /signature/);
      await rejectsWith(verifyBundle({ ...bundle, payload: flipBit(bundle.payload, 10) }, expected()), 'BUNDLE_INVALID');
      const padded = toBase64Url(utf8(`${JSON.stringify(payload())} `));
      await rejectsWith(verifyBundle({ ...bundle, payload: padded }, expected()), 'BUNDLE_INVALID');
    });

    it('a key swapped for the relay\'s own encryption key, keeping the signature', async function () {
      const bundle = await sign(payload());
      const swapped = payload({ keys: [{ kid: 'k2', spki: previousSpki, notAfter: NOW + 180 * DAY }] });
      await rejectsWith(verifyBundle({ ...bundle, payload: toBase64Url(utf8(JSON.stringify(swapped))) }, expected()), 'BUNDLE_INVALID');
    });

    it('a changed, truncated, empty, zero or DER-encoded signature', async function () {
      const bundle = await sign(payload());
      const sig = fromBase64Url(bundle.sig);
      const r = sig.slice(0, 32);
      const s = sig.slice(32);
      // The same signature in ASN.1 DER form: valid ECDSA, wrong encoding for P1363.
      const derInt = (x: Uint8Array) => {
        let v = Array.from(x);
        while (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) v = v.slice(1);
        if (v[0]! & 0x80) v = [0, ...v];
        return [0x02, v.length, ...v];
      };
      const body = [...derInt(r), ...derInt(s)];
      const der = new Uint8Array([0x30, body.length, ...body]);
      for (const bad of [flipBit(bundle.sig, 0), flipBit(bundle.sig, -1), toBase64Url(sig.slice(0, 63)), '', toBase64Url(new Uint8Array(64)), toBase64Url(der)]) {
        await rejectsWith(verifyBundle({ ...bundle, sig: bad }, expected()), 'BUNDLE_INVALID');
      }
    });

    it('a signature by another key that carries the pinned signing key', async function () {
      const other = await generateSigningKeyPair();
      const bytes = utf8(JSON.stringify(payload()));
      const bundle: SignedBundle = { payload: toBase64Url(bytes), sig: toBase64Url(await signP1363(other.privateKey, bytes)), signingKey: toBase64Url(signerSpki) };
      await rejectsWith(verifyBundle(bundle, expected()), 'BUNDLE_INVALID');
    });

    it('a pinned signing key that is not ECDSA P-256', async function () {
      const p384 = (await subtle().generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const spki = await exportSpki(p384.publicKey);
      const bytes = utf8(JSON.stringify(payload()));
      const sig = new Uint8Array(await subtle().sign({ name: 'ECDSA', hash: 'SHA-256' }, p384.privateKey, bytes));
      const bundle: SignedBundle = { payload: toBase64Url(bytes), sig: toBase64Url(sig), signingKey: toBase64Url(spki) };
      await rejectsWith(verifyBundle(bundle, { pin: await signingKeyPin(spki), tenant: TENANT, now: NOW }), 'BUNDLE_INVALID');
    });

    it('fields that are not strict base64url', async function () {
      const bundle = await sign(payload());
      for (const field of ['payload', 'sig', 'signingKey'] as const) {
        for (const bad of [`${bundle[field]}=`, `${bundle[field]}+`, ` ${bundle[field]}`, 'A']) {
          await rejectsWith(verifyBundle({ ...bundle, [field]: bad }, expected()), 'BUNDLE_INVALID', /malformed/);
        }
      }
    });
  });

  describe('tenant', function () {
    it('a valid bundle of another tenant → BUNDLE_INVALID naming both tenants', async function () {
      const other = await sign(payload({ tenant: 'globex' }));
      await rejectsWith(verifyBundle(other, expected()), 'BUNDLE_INVALID', /globex.*acme/);
      await rejectsWith(verifyBundle(await sign(payload()), { pin, tenant: 'globex', now: NOW }), 'BUNDLE_INVALID');
      await rejectsWith(verifyBundle(await sign(payload({ tenant: 'ACME' })), expected()), 'BUNDLE_INVALID');
    });
  });

  describe('expiry', function () {
    it('skips expired keys and keeps the rest in order', async function () {
      const bundle = await sign(payload());
      const keys = await verifyBundle(bundle, { pin, tenant: TENANT, now: NOW + 11 * DAY });
      assert.deepEqual(keys.map((k) => k.kid), ['k2']);
      // A current key past notAfter is skipped even while an older one is still valid.
      const odd = await sign(payload({ keys: [{ kid: 'k2', spki: currentSpki, notAfter: NOW - 1 }, { kid: 'k1', spki: previousSpki, notAfter: NOW + DAY }] }));
      assert.deepEqual((await verifyBundle(odd, expected())).map((k) => k.kid), ['k1']);
    });

    it('a key is expired at exactly notAfter', async function () {
      const bundle = await sign(payload({ keys: [{ kid: 'k', spki: currentSpki, notAfter: NOW }] }));
      await rejectsWith(verifyBundle(bundle, expected()), 'BUNDLE_INVALID');
      assert.equal((await verifyBundle(bundle, { pin, tenant: TENANT, now: NOW - 1 })).length, 1);
    });

    it('all keys expired → BUNDLE_INVALID', async function () {
      const bundle = await sign(payload());
      await rejectsWith(verifyBundle(bundle, { pin, tenant: TENANT, now: NOW + 181 * DAY }), 'BUNDLE_INVALID', /expired/);
    });
  });

  describe('keys the client must not use', function () {
    it('skips a 2048-bit key (downgrade) and keeps the 3072-bit one', async function () {
      const bundle = await sign(payload({ keys: [{ kid: 'weak', spki: weakSpki, notAfter: NOW + DAY }, { kid: 'k2', spki: currentSpki, notAfter: NOW + DAY }] }));
      assert.deepEqual((await verifyBundle(bundle, expected())).map((k) => k.kid), ['k2']);
    });

    it('a bundle with only a 2048-bit key → BUNDLE_INVALID', async function () {
      const bundle = await sign(payload({ keys: [{ kid: 'weak', spki: weakSpki, notAfter: NOW + DAY }] }));
      await rejectsWith(verifyBundle(bundle, expected()), 'BUNDLE_INVALID');
    });

    it('skips keys whose SPKI is garbage, not base64url, or not an RSA key', async function () {
      const ecSpki = toBase64Url(signerSpki);
      const bundle = await sign(
        payload({
          keys: [
            { kid: 'junk', spki: 'AAAA', notAfter: NOW + DAY },
            { kid: 'notb64', spki: '+/+/', notAfter: NOW + DAY },
            { kid: 'ec', spki: ecSpki, notAfter: NOW + DAY },
            { kid: 'k2', spki: currentSpki, notAfter: NOW + DAY },
          ],
        }),
      );
      assert.deepEqual((await verifyBundle(bundle, expected())).map((k) => k.kid), ['k2']);
    });
  });

  describe('payload shape → BUNDLE_INVALID', function () {
    const good = () => payload() as unknown as Record<string, unknown>;
    const shapes: Array<[string, () => unknown]> = [
      ['version 2', () => ({ ...good(), v: 2 })],
      ['no version', () => ({ ...good(), v: undefined })],
      ['tenant not a string', () => ({ ...good(), tenant: 42 })],
      ['issued missing', () => ({ ...good(), issued: undefined })],
      ['keys empty', () => ({ ...good(), keys: [] })],
      ['keys not an array', () => ({ ...good(), keys: {} })],
      ['nine keys', () => ({ ...good(), keys: Array.from({ length: 9 }, (_, i) => ({ kid: `k${i}`, spki: 'AAAA', notAfter: NOW + DAY })) })],
      ['a null key', () => ({ ...good(), keys: [null] })],
      ['an empty kid', () => ({ ...good(), keys: [{ kid: '', spki: 'AAAA', notAfter: NOW + DAY }] })],
      ['a 65-character kid', () => ({ ...good(), keys: [{ kid: 'k'.repeat(65), spki: 'AAAA', notAfter: NOW + DAY }] })],
      ['notAfter as a string', () => ({ ...good(), keys: [{ kid: 'k', spki: 'AAAA', notAfter: String(NOW + DAY) }] })],
      ['spki not a string', () => ({ ...good(), keys: [{ kid: 'k', spki: 7, notAfter: NOW + DAY }] })],
      ['JSON null', () => null],
      ['a JSON array', () => [good()]],
      ['a JSON string', () => 'bundle'],
    ];
    for (const [name, make] of shapes) {
      it(name, async function () {
        await rejectsWith(verifyBundle(await signRaw(utf8(JSON.stringify(make()))), expected()), 'BUNDLE_INVALID');
      });
    }

    it('payload bytes that are not JSON, or not UTF-8', async function () {
      await rejectsWith(verifyBundle(await signRaw(utf8('{"v":1,')), expected()), 'BUNDLE_INVALID', /JSON/);
      await rejectsWith(verifyBundle(await signRaw(new Uint8Array([0xff, 0x7b, 0x7d])), expected()), 'BUNDLE_INVALID');
    });
  });
});
