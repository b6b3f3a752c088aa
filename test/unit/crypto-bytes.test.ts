/**
 * protocol/bytes.ts: the byte helpers every room shares. Node's Buffer serves as the independent
 * reference here (tests may use it; protocol/ may not).
 */
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import {
  concatBytes,
  constantTimeEqual,
  fromBase64Url,
  fromHex,
  fromUtf8,
  randomBytes,
  toBase64Url,
  toHex,
  utf8,
} from '../../protocol/bytes.ts';

function rejectsAsInvalid(text: string): void {
  assert.throws(() => fromBase64Url(text), TypeError, `should reject ${JSON.stringify(text)}`);
}

describe('bytes', function () {
  describe('base64url', function () {
    it('roundtrips random bytes of every length 0..300, matching Node\'s base64url', function () {
      for (let length = 0; length <= 300; length++) {
        const bytes = randomBytes(length);
        const text = toBase64Url(bytes);
        assert.equal(text, Buffer.from(bytes).toString('base64url'), `length ${length}`);
        assert.match(text, /^[A-Za-z0-9_-]*$/);
        assert.equal(text.length, Math.ceil((length * 4) / 3));
        assert.deepEqual(fromBase64Url(text), bytes, `length ${length}`);
      }
    });

    it('roundtrips inputs larger than one fromCharCode chunk (32 KiB)', function () {
      for (const length of [0x8000 - 1, 0x8000, 0x8000 + 1, 200_000]) {
        // Node's generator: WebCrypto's getRandomValues (behind randomBytes) stops at 64 KiB a call.
        const bytes = new Uint8Array(nodeRandomBytes(length));
        const text = toBase64Url(bytes);
        assert.equal(text, Buffer.from(bytes).toString('base64url'));
        assert.deepEqual(fromBase64Url(text), bytes);
      }
    });

    it('uses - and _ where base64 has + and /', function () {
      assert.equal(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf])), '-_-_');
      assert.deepEqual(fromBase64Url('-_-_'), new Uint8Array([0xfb, 0xff, 0xbf]));
    });

    it('encodes a subarray view, not its whole buffer', function () {
      const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);
      assert.equal(toBase64Url(whole.subarray(2, 4)), Buffer.from([3, 4]).toString('base64url'));
    });

    it('rejects +, /, =, whitespace and anything outside the alphabet, with TypeError', function () {
      const valid = toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf, 1, 2]));
      for (const bad of [
        '+_-_',
        '-/-_',
        '++//',
        'AAE=',
        'AA==',
        'AA=',
        '=',
        ' AAAA',
        'AAAA ',
        'AA AA',
        'AAAA\n',
        'AA\r\nAA',
        '\tAAAA',
        'AAAA\u00a0',
        'AA.A',
        'AAé',
        'AA%3D',
        `${valid}=`,
      ]) {
        rejectsAsInvalid(bad);
      }
    });

    it('rejects a length that no byte string encodes to (4n + 1 characters)', function () {
      for (const bad of ['A', 'AAAAA', 'AAAAAAAAA']) rejectsAsInvalid(bad);
    });

    it('decodes canonically: every accepted text is exactly what toBase64Url gives back', function () {
      // Non-zero bits after the last full byte are not canonical: 'AB' and 'AA' would both be [0].
      const accepted: string[] = [];
      for (const text of ['AB', 'AAB', 'AAAAAB', 'AR', '_w', '__8', 'AAc', 'AAAAAAE']) {
        try {
          fromBase64Url(text);
          if (toBase64Url(fromBase64Url(text)) !== text) accepted.push(text);
        } catch (err) {
          assert.ok(err instanceof TypeError);
        }
      }
      assert.deepEqual(accepted, [], `non-canonical base64url accepted (decodes the same as its canonical form): ${accepted.join(', ')}`);
    });
  });

  describe('hex', function () {
    it('roundtrips and matches Node', function () {
      const bytes = randomBytes(300);
      assert.equal(toHex(bytes), Buffer.from(bytes).toString('hex'));
      assert.deepEqual(fromHex(toHex(bytes)), bytes);
      assert.deepEqual(fromHex('00FFaB'), new Uint8Array([0, 255, 0xab]));
      assert.deepEqual(fromHex(''), new Uint8Array(0));
    });

    it('rejects odd lengths and non-hex characters', function () {
      for (const bad of ['0', 'abc', 'zz', '0x00', ' 00', '00 ', '-1']) assert.throws(() => fromHex(bad), TypeError, bad);
    });
  });

  describe('UTF-8', function () {
    it('roundtrips non-ASCII text, and counts bytes', function () {
      const text = 'Pässwörd-日本語-🔑';
      assert.deepEqual(utf8(text), new Uint8Array(Buffer.from(text, 'utf8')));
      assert.equal(fromUtf8(utf8(text)), text);
      assert.equal(utf8('🔑').length, 4);
    });

    it('throws on malformed UTF-8 instead of inserting U+FFFD', function () {
      for (const bad of [[0xff], [0xc0, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
        assert.throws(() => fromUtf8(new Uint8Array(bad)), TypeError, JSON.stringify(bad));
      }
    });
  });

  describe('concatBytes and randomBytes', function () {
    it('concatenates in order', function () {
      assert.deepEqual(concatBytes(), new Uint8Array(0));
      assert.deepEqual(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])), new Uint8Array([1, 2, 3]));
      const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
      assert.deepEqual(concatBytes(view, view), new Uint8Array([8, 7, 8, 7]));
    });

    it('gives the requested length and fresh values each time', function () {
      assert.equal(randomBytes(0).length, 0);
      assert.equal(randomBytes(32).length, 32);
      const seen = new Set(Array.from({ length: 50 }, () => toHex(randomBytes(16))));
      assert.equal(seen.size, 50);
    });
  });

  describe('constantTimeEqual', function () {
    it('is true for equal contents, including empty and distinct buffers', function () {
      assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
      const a = randomBytes(32);
      assert.equal(constantTimeEqual(a, a.slice()), true);
    });

    it('is false for a difference at any position, and for different lengths', function () {
      const a = randomBytes(32);
      for (let i = 0; i < a.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const b = a.slice();
          b[i] = (b[i] as number) ^ bit;
          assert.equal(constantTimeEqual(a, b), false, `byte ${i}`);
        }
      }
      assert.equal(constantTimeEqual(a, a.subarray(0, 31)), false);
      assert.equal(constantTimeEqual(a.subarray(0, 31), a), false);
      assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(1)), false);
    });
  });
});
