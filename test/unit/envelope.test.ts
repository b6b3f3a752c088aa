import assert from 'node:assert/strict';
import {
  ENVELOPE_LIMITS,
  FrameError,
  parseAgentFrame,
  parseClientFrame,
  parseRelayToAgentFrame,
  parseRelayToClientFrame,
  RELAY_ERROR_CODES,
  TENANT_ID_PATTERN,
} from '../../protocol/envelope.ts';

const SID = 'AAAAAAAAAAAAAAAAAAAAAA'; // 22 chars = 16 bytes
const BUNDLE = { payload: 'eyJ2IjoxfQ', sig: 'c2ln', signingKey: 'a2V5' };
const j = (v: unknown) => JSON.stringify(v);

/** Asserts a FrameError with code BAD_FRAME whose message mentions `field`. */
function rejects(parse: (text: string) => unknown, text: string, field?: string | RegExp): void {
  assert.throws(
    () => parse(text),
    (err: unknown) => {
      assert.ok(err instanceof FrameError, `expected FrameError, got ${String(err)}`);
      assert.equal(err.code, 'BAD_FRAME');
      assert.equal(err.name, 'FrameError');
      if (typeof field === 'string') assert.match(err.message, new RegExp(`"${field}"`));
      else if (field) assert.match(err.message, field);
      return true;
    },
  );
}

describe('envelope', () => {
  describe('constants', () => {
    it('lists the relay error codes of docs/protocol.md', () => {
      assert.deepEqual(
        [...RELAY_ERROR_CODES].sort(),
        ['AGENT_OFFLINE', 'BAD_FRAME', 'POW_INVALID', 'RATE_LIMITED', 'SESSION_EXPIRED', 'UNKNOWN_TENANT'],
      );
    });

    it('TENANT_ID_PATTERN accepts ids like "acme" and "a-1" and refuses others', () => {
      for (const ok of ['acme', 'a', '0-x', 'a'.repeat(63)]) assert.ok(TENANT_ID_PATTERN.test(ok), ok);
      for (const bad of ['', '-a', 'Acme', 'a_b', 'a'.repeat(64), 'a\n', 'a.b']) assert.ok(!TENANT_ID_PATTERN.test(bad), bad);
    });
  });

  describe('parseClientFrame()', () => {
    it('accepts open, a first msg with kid/wk, and a later msg', () => {
      assert.deepEqual(parseClientFrame(j({ t: 'open', challenge: 'abcd', nonce: 'AAAAAAAAAAA' })), {
        t: 'open',
        challenge: 'abcd',
        nonce: 'AAAAAAAAAAA',
      });
      assert.deepEqual(parseClientFrame(j({ t: 'msg', data: 'ZGF0YQ', kid: 'k1', wk: 'd2s' })), {
        t: 'msg',
        data: 'ZGF0YQ',
        kid: 'k1',
        wk: 'd2s',
      });
      assert.deepEqual(parseClientFrame(j({ t: 'msg', data: 'ZGF0YQ' })), { t: 'msg', data: 'ZGF0YQ' });
    });

    it('refuses non-JSON, non-objects and unknown types', () => {
      rejects(parseClientFrame, 'not json', /JSON/);
      rejects(parseClientFrame, '', /JSON/);
      rejects(parseClientFrame, '[1,2]', /object/);
      rejects(parseClientFrame, 'null', /object/);
      rejects(parseClientFrame, '"msg"', /object/);
      rejects(parseClientFrame, '12e999', /object/);
      rejects(parseClientFrame, j({ data: 'AA' }), 't');
      rejects(parseClientFrame, j({ t: 1 }), 't');
      rejects(parseClientFrame, j({ t: 'hello' }), 't');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', sid: SID }), 'sid');
    });

    it('refuses a non-string argument', () => {
      rejects(parseClientFrame as (x: unknown) => unknown, Buffer.from('{}') as unknown as string, /text/);
    });

    it('refuses prototype-pollution keys and leaves Object.prototype alone', () => {
      rejects(parseClientFrame, '{"t":"msg","data":"AA","__proto__":{"polluted":1}}', '__proto__');
      rejects(parseClientFrame, '{"t":"msg","data":"AA","constructor":{"prototype":{"polluted":1}}}', 'constructor');
      rejects(parseClientFrame, '{"t":"open","challenge":"AA","nonce":"AA","prototype":1}', 'prototype');
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    });

    it('returns a fresh object with only the known fields', () => {
      const frame = parseClientFrame('{"t":"msg","data":"AA"}');
      assert.equal(Object.getPrototypeOf(frame), Object.prototype);
      assert.deepEqual(Object.keys(frame), ['t', 'data']);
    });

    it('checks field types', () => {
      rejects(parseClientFrame, j({ t: 'msg', data: 1 }), 'data');
      rejects(parseClientFrame, j({ t: 'msg', data: ['AA'] }), 'data');
      rejects(parseClientFrame, j({ t: 'msg', data: null }), 'data');
      rejects(parseClientFrame, j({ t: 'open', challenge: {}, nonce: 'AA' }), 'challenge');
      rejects(parseClientFrame, j({ t: 'open', challenge: 'AA', nonce: 1e308 }), 'nonce');
      rejects(parseClientFrame, j({ t: 'open', challenge: 'AA' }), 'nonce');
    });

    it('checks the base64url alphabet and length', () => {
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA==' }), 'data');
      rejects(parseClientFrame, j({ t: 'msg', data: 'A+/A' }), 'data');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA AA' }), 'data');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AAAAA' }), 'data'); // 4n+1 characters
      rejects(parseClientFrame, j({ t: 'msg', data: '' }), 'data');
      rejects(parseClientFrame, j({ t: 'msg', data: 'ÄÄ' }), 'data');
    });

    it('allows data up to 48 KiB of base64url and no more', () => {
      assert.equal(ENVELOPE_LIMITS.data, 48 * 1024);
      assert.equal(parseClientFrame(j({ t: 'msg', data: 'A'.repeat(49_152) })).t, 'msg');
      rejects(parseClientFrame, j({ t: 'msg', data: 'A'.repeat(49_156) }), 'data');
    });

    it('wants kid and wk together, kid ≤ 64 printable characters, wk ≤ 1024 base64url', () => {
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', kid: 'k' }), /"kid" and "wk"/);
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', wk: 'AA' }), /"kid" and "wk"/);
      assert.equal(parseClientFrame(j({ t: 'msg', data: 'AA', kid: 'k'.repeat(64), wk: 'A'.repeat(1024) })).t, 'msg');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', kid: 'k'.repeat(65), wk: 'AA' }), 'kid');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', kid: 'k 1', wk: 'AA' }), 'kid');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', kid: '', wk: 'AA' }), 'kid');
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', kid: 'k', wk: 'A'.repeat(1028) }), 'wk');
    });

    it('limits the nonce to 32 bytes', () => {
      assert.equal(parseClientFrame(j({ t: 'open', challenge: 'AA', nonce: 'A'.repeat(43) })).t, 'open');
      rejects(parseClientFrame, j({ t: 'open', challenge: 'AA', nonce: 'A'.repeat(44) }), 'nonce');
    });

    it('refuses frames longer than 64 KiB before parsing them', () => {
      rejects(parseClientFrame, ' '.repeat(70_000), /longer/);
    });

    it('is fast on a maximal frame', () => {
      const text = j({ t: 'msg', data: 'A'.repeat(49_152) });
      const start = performance.now();
      for (let i = 0; i < 500; i++) parseClientFrame(text);
      const perFrame = (performance.now() - start) / 500;
      assert.ok(perFrame < 2, `${perFrame.toFixed(3)} ms per 48 KiB frame`);
    });
  });

  describe('parseRelayToClientFrame()', () => {
    it('accepts pow, opened, msg and error', () => {
      assert.deepEqual(parseRelayToClientFrame(j({ t: 'pow', challenge: 'AAAA', difficulty: 14 })), {
        t: 'pow',
        challenge: 'AAAA',
        difficulty: 14,
      });
      assert.deepEqual(parseRelayToClientFrame(j({ t: 'opened', sid: SID, bundle: BUNDLE })), { t: 'opened', sid: SID, bundle: BUNDLE });
      assert.deepEqual(parseRelayToClientFrame(j({ t: 'msg', data: 'AA' })), { t: 'msg', data: 'AA' });
      for (const code of RELAY_ERROR_CODES) {
        assert.deepEqual(parseRelayToClientFrame(j({ t: 'error', code, message: 'm' })), { t: 'error', code, message: 'm' });
      }
    });

    it('refuses bad difficulties, sids, bundles and error codes', () => {
      for (const difficulty of [-1, 1.5, 65, 1e300, '14', null]) {
        rejects(parseRelayToClientFrame, j({ t: 'pow', challenge: 'AA', difficulty }), 'difficulty');
      }
      rejects(parseRelayToClientFrame, j({ t: 'opened', sid: SID.slice(1), bundle: BUNDLE }), 'sid');
      rejects(parseRelayToClientFrame, j({ t: 'opened', sid: `${SID}A`, bundle: BUNDLE }), 'sid');
      rejects(parseRelayToClientFrame, j({ t: 'opened', sid: SID }), 'bundle');
      rejects(parseRelayToClientFrame, j({ t: 'opened', sid: SID, bundle: [] }), 'bundle');
      rejects(parseRelayToClientFrame, j({ t: 'opened', sid: SID, bundle: { ...BUNDLE, extra: 'x' } }), 'bundle');
      rejects(parseRelayToClientFrame, j({ t: 'opened', sid: SID, bundle: { ...BUNDLE, sig: 'a/b' } }), 'sig');
      rejects(parseRelayToClientFrame, '{"t":"opened","sid":"AAAAAAAAAAAAAAAAAAAAAA","bundle":{"payload":"AA","sig":"AA","signingKey":"AA","__proto__":{}}}', 'bundle');
      rejects(parseRelayToClientFrame, j({ t: 'error', code: 'NOPE', message: 'm' }), 'code');
      rejects(parseRelayToClientFrame, j({ t: 'error', code: 'toString', message: 'm' }), 'code');
      rejects(parseRelayToClientFrame, j({ t: 'error', code: 'BAD_FRAME' }), 'message');
      rejects(parseRelayToClientFrame, j({ t: 'error', code: 'BAD_FRAME', message: 'm'.repeat(513) }), 'message');
      rejects(parseRelayToClientFrame, j({ t: 'msg', data: 'AA', kid: 'k', wk: 'AA' }), 'kid');
    });
  });

  describe('parseAgentFrame()', () => {
    it('accepts hello, bundle, msg and close', () => {
      assert.deepEqual(parseAgentFrame(j({ t: 'hello', agent: 'dc-1.corp_A', bundle: BUNDLE })), {
        t: 'hello',
        agent: 'dc-1.corp_A',
        bundle: BUNDLE,
      });
      assert.deepEqual(parseAgentFrame(j({ t: 'bundle', bundle: BUNDLE })), { t: 'bundle', bundle: BUNDLE });
      assert.deepEqual(parseAgentFrame(j({ t: 'msg', sid: SID, data: 'AA' })), { t: 'msg', sid: SID, data: 'AA' });
      assert.deepEqual(parseAgentFrame(j({ t: 'close', sid: SID })), { t: 'close', sid: SID });
    });

    it('checks agent ids: 1..64 of A-Z a-z 0-9 . _ -', () => {
      assert.equal(parseAgentFrame(j({ t: 'hello', agent: 'a'.repeat(64), bundle: BUNDLE })).t, 'hello');
      for (const agent of ['', 'a'.repeat(65), 'a b', 'a/b', 'ä', 7]) {
        rejects(parseAgentFrame, j({ t: 'hello', agent, bundle: BUNDLE }), 'agent');
      }
    });

    it('refuses msg without a valid sid, agent frames with kid/wk, and client-only types', () => {
      rejects(parseAgentFrame, j({ t: 'msg', data: 'AA' }), 'sid');
      rejects(parseAgentFrame, j({ t: 'msg', sid: 'A'.repeat(21), data: 'AA' }), 'sid');
      rejects(parseAgentFrame, j({ t: 'msg', sid: `${'A'.repeat(21)}=`, data: 'AA' }), 'sid');
      rejects(parseAgentFrame, j({ t: 'msg', sid: SID, data: 'AA', kid: 'k', wk: 'AA' }), 'kid');
      rejects(parseAgentFrame, j({ t: 'open', challenge: 'AA', nonce: 'AA' }), 't');
      rejects(parseAgentFrame, j({ t: 'close', sid: SID, reason: 'x' }), 'reason');
    });
  });

  describe('parseRelayToAgentFrame()', () => {
    it('accepts msg (with and without kid/wk) and close', () => {
      assert.deepEqual(parseRelayToAgentFrame(j({ t: 'msg', sid: SID, data: 'AA', kid: 'k', wk: 'AA' })), {
        t: 'msg',
        sid: SID,
        data: 'AA',
        kid: 'k',
        wk: 'AA',
      });
      assert.deepEqual(parseRelayToAgentFrame(j({ t: 'msg', sid: SID, data: 'AA' })), { t: 'msg', sid: SID, data: 'AA' });
      assert.deepEqual(parseRelayToAgentFrame(j({ t: 'close', sid: SID })), { t: 'close', sid: SID });
    });

    it('accepts the relay-asserted client address `from` (IPv4 or IPv6 literal) and nothing else in it', () => {
      for (const from of ['203.0.113.7', '2001:db8::1', '::1', '::ffff:192.0.2.1']) {
        assert.deepEqual(parseRelayToAgentFrame(j({ t: 'msg', sid: SID, data: 'AA', kid: 'k', wk: 'AA', from })), {
          t: 'msg',
          sid: SID,
          data: 'AA',
          kid: 'k',
          wk: 'AA',
          from,
        });
      }
      for (const from of ['', 'localhost', '1', '203.0.113.7\nX-Evil: 1', 'a'.repeat(46), 'fe80::1%eth0', 7, null]) {
        rejects(parseRelayToAgentFrame, j({ t: 'msg', sid: SID, data: 'AA', from }), 'from');
      }
      // Clients cannot send it: only the relay asserts an address.
      rejects(parseClientFrame, j({ t: 'msg', data: 'AA', from: '203.0.113.7' }), 'from');
    });

    it('refuses anything else', () => {
      rejects(parseRelayToAgentFrame, j({ t: 'hello', agent: 'a', bundle: BUNDLE }), 't');
      rejects(parseRelayToAgentFrame, j({ t: 'msg', data: 'AA' }), 'sid');
      rejects(parseRelayToAgentFrame, j({ t: 'close', sid: SID, x: 1 }), 'x');
    });
  });
});
