/**
 * The password layer (docs/protocol.md, "Session crypto"): each password RSA-OAEP encrypted to
 * the agent once more inside the sealed channel, bound by label to its session and field.
 */
import assert from 'node:assert/strict';
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from '../../protocol/bytes.ts';
import { CryptoError, generateEncryptionKeyPair, label, rsaOaepDecrypt, rsaOaepEncrypt } from '../../protocol/crypto.ts';
import { decryptPassword, encryptPassword, MAX_PASSWORD_BYTES, PasswordTooLongError } from '../../protocol/password.ts';

const GENERIC = new CryptoError();

function isGeneric(err: unknown): true {
  assert.ok(err instanceof CryptoError, `expected CryptoError, got ${String(err)}`);
  assert.equal(err.message, GENERIC.message);
  assert.equal(err.code, GENERIC.code);
  return true;
}

function isTooLong(err: unknown): true {
  assert.ok(err instanceof PasswordTooLongError, `expected PasswordTooLongError, got ${String(err)}`);
  assert.equal(err.code, 'PASSWORD_TOO_LONG');
  assert.equal(err.name, 'PasswordTooLongError');
  return true;
}

describe('password layer', function () {
  let agent: CryptoKeyPair;
  let stranger: CryptoKeyPair;
  const sid = toBase64Url(randomBytes(16));

  before(async function () {
    this.timeout(60_000);
    [agent, stranger] = await Promise.all([generateEncryptionKeyPair(), generateEncryptionKeyPair()]);
  });

  describe('roundtrip', function () {
    for (const password of ['Correct-Horse-7', 'Pässwörd-日本語-🔑', '', ' leading and trailing spaces ', 'quote"backslash\\', '\u00a0nbsp\u200bzwsp']) {
      it(`${JSON.stringify(password)}`, async function () {
        const sealed = await encryptPassword(agent.publicKey, sid, 'newPassword', password);
        assert.equal(await decryptPassword(agent.privateKey, sid, 'newPassword', sealed), password);
      });
    }

    it('works for every field name', async function () {
      for (const field of ['newPassword', 'oldPassword', 'currentPassword'] as const) {
        const sealed = await encryptPassword(agent.publicKey, sid, field, `p-${field}`);
        assert.equal(await decryptPassword(agent.privateKey, sid, field, sealed), `p-${field}`);
      }
    });

    it('is a 384-byte RSA-OAEP-3072 ciphertext in base64url, different every time', async function () {
      const a = await encryptPassword(agent.publicKey, sid, 'newPassword', 'same');
      const b = await encryptPassword(agent.publicKey, sid, 'newPassword', 'same');
      assert.match(a, /^[A-Za-z0-9_-]{512}$/);
      assert.equal(fromBase64Url(a).length, 384);
      assert.notEqual(a, b);
    });

    it('encrypts under label(\'password\', sid, field) (its text is checked against docs/protocol.md in crypto.test.ts)', async function () {
      // Encrypted by hand under that label, opened by the module; and the other way round.
      const sealed = await rsaOaepEncrypt(agent.publicKey, utf8('by-hand'), label('password', sid, 'oldPassword'));
      assert.equal(await decryptPassword(agent.privateKey, sid, 'oldPassword', toBase64Url(sealed)), 'by-hand');
      const mine = await encryptPassword(agent.publicKey, sid, 'oldPassword', 'module');
      assert.deepEqual(await rsaOaepDecrypt(agent.privateKey, fromBase64Url(mine), label('password', sid, 'oldPassword')), utf8('module'));
    });
  });

  describe('binding: a ciphertext opens only where it was meant to (CryptoError)', function () {
    it('newPassword does not open as oldPassword or currentPassword, and back', async function () {
      const sealed = await encryptPassword(agent.publicKey, sid, 'newPassword', 'NewSecret-1');
      await assert.rejects(decryptPassword(agent.privateKey, sid, 'oldPassword', sealed), isGeneric);
      await assert.rejects(decryptPassword(agent.privateKey, sid, 'currentPassword', sealed), isGeneric);
      const old = await encryptPassword(agent.publicKey, sid, 'oldPassword', 'OldSecret-1');
      await assert.rejects(decryptPassword(agent.privateKey, sid, 'newPassword', old), isGeneric);
    });

    it('does not open under another session id', async function () {
      const sealed = await encryptPassword(agent.publicKey, sid, 'newPassword', 'NewSecret-1');
      await assert.rejects(decryptPassword(agent.privateKey, toBase64Url(randomBytes(16)), 'newPassword', sealed), isGeneric);
      await assert.rejects(decryptPassword(agent.privateKey, `${sid}x`, 'newPassword', sealed), isGeneric);
    });

    it('does not open with another agent\'s key', async function () {
      const sealed = await encryptPassword(agent.publicKey, sid, 'newPassword', 'NewSecret-1');
      await assert.rejects(decryptPassword(stranger.privateKey, sid, 'newPassword', sealed), isGeneric);
    });

    it('a session-key wrap cannot be replayed as a password', async function () {
      const wk = await rsaOaepEncrypt(agent.publicKey, randomBytes(32), label('session', 'acme', sid));
      await assert.rejects(decryptPassword(agent.privateKey, sid, 'newPassword', toBase64Url(wk)), isGeneric);
    });

    it('tampered, truncated, empty or non-base64url ciphertexts, all with the same error', async function () {
      const sealed = await encryptPassword(agent.publicKey, sid, 'newPassword', 'NewSecret-1');
      const bytes = fromBase64Url(sealed);
      const flipped = bytes.slice();
      flipped[100] = (flipped[100] as number) ^ 0x80;
      for (const bad of [toBase64Url(flipped), toBase64Url(bytes.slice(1)), '', `${sealed}=`, sealed.replace(/^./, '+'), 'A']) {
        await assert.rejects(decryptPassword(agent.privateKey, sid, 'newPassword', bad), isGeneric);
      }
    });

    it('a well-formed ciphertext of bytes that are not UTF-8', async function () {
      const sealed = await rsaOaepEncrypt(agent.publicKey, new Uint8Array([0x70, 0xff, 0xfe]), label('password', sid, 'newPassword'));
      await assert.rejects(decryptPassword(agent.privateKey, sid, 'newPassword', toBase64Url(sealed)), isGeneric);
    });
  });

  describe('length limit (318 UTF-8 bytes, what RSA-OAEP-3072/SHA-256 carries)', function () {
    it('MAX_PASSWORD_BYTES is 384 − 2·32 − 2 = 318', function () {
      assert.equal(MAX_PASSWORD_BYTES, 384 - 2 * 32 - 2);
    });

    it('318 bytes exactly works (ASCII and multi-byte)', async function () {
      for (const password of ['a'.repeat(318), 'é'.repeat(159), `${'🔑'.repeat(79)}ab`]) {
        assert.equal(utf8(password).length, 318);
        const sealed = await encryptPassword(agent.publicKey, sid, 'newPassword', password);
        assert.equal(await decryptPassword(agent.privateKey, sid, 'newPassword', sealed), password);
      }
    });

    it('319 bytes or more → PasswordTooLongError, counted in bytes, not characters', async function () {
      for (const password of ['a'.repeat(319), 'é'.repeat(160), `${'🔑'.repeat(79)}abc`, `${'a'.repeat(317)}é`, 'x'.repeat(10_000)]) {
        assert.ok(utf8(password).length > 318);
        await assert.rejects(encryptPassword(agent.publicKey, sid, 'newPassword', password), isTooLong);
      }
      // 160 characters, well under 318 characters, but 320 bytes.
      assert.equal('é'.repeat(160).length, 160);
    });

    it('the message names the limit', async function () {
      await assert.rejects(encryptPassword(agent.publicKey, sid, 'newPassword', 'a'.repeat(400)), /318/);
    });
  });
});
