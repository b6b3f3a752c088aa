import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { checkPow, leadingZeroBits, solvePow } from '../../protocol/pow.ts';
import { DEFAULTS } from '../../relay/config.ts';
import { CHALLENGE_BYTES, difficultyFor, ProofOfWork } from '../../relay/pow.ts';

const KEY = randomBytes(32);

function workBits(challenge: string, nonce: string): number {
  return leadingZeroBits(
    createHash('sha256').update(Buffer.from(challenge, 'base64url')).update(Buffer.from(nonce, 'base64url')).digest(),
  );
}

/** A nonce whose hash has fewer than `difficulty` zero bits. */
function badNonce(challenge: string, difficulty: number): string {
  for (let i = 0; ; i++) {
    const nonce = Buffer.from([i & 0xff, i >> 8]).toString('base64url');
    if (workBits(challenge, nonce) < difficulty) return nonce;
  }
}

describe('proof of work', () => {
  describe('leadingZeroBits()', () => {
    it('counts leading zero bits across bytes', () => {
      assert.equal(leadingZeroBits(new Uint8Array([0x80])), 0);
      assert.equal(leadingZeroBits(new Uint8Array([0x01])), 7);
      assert.equal(leadingZeroBits(new Uint8Array([0x00, 0x00, 0x10])), 19);
      assert.equal(leadingZeroBits(new Uint8Array([0x00, 0x00])), 16);
      assert.equal(leadingZeroBits(new Uint8Array([])), 0);
    });
  });

  describe('solvePow()', () => {
    it('finds a nonce of at most 32 bytes that meets the difficulty, and reports progress', async () => {
      const challenge = randomBytes(CHALLENGE_BYTES).toString('base64url');
      const progress: number[] = [];
      const nonce = await solvePow(challenge, 10, (f) => progress.push(f));
      assert.ok(Buffer.from(nonce, 'base64url').length <= 32);
      assert.ok(workBits(challenge, nonce) >= 10);
      assert.ok(await checkPow(challenge, nonce, 10));
      assert.equal(progress.at(-1), 1);
      assert.ok(progress.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= (progress[i - 1] as number))));
    });

    it('refuses impossible difficulties', async () => {
      await assert.rejects(solvePow('AAAA', 33), RangeError);
      await assert.rejects(solvePow('AAAA', -1), RangeError);
    });

    it(`solves the default difficulty (${DEFAULTS.pow.difficulty} bits) in well under a second on average`, async function () {
      this.timeout(60_000);
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const challenge = randomBytes(CHALLENGE_BYTES).toString('base64url');
        const start = performance.now();
        await solvePow(challenge, DEFAULTS.pow.difficulty);
        times.push(performance.now() - start);
      }
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      // The time is geometric (long tail), so only the mean is bounded, and generously for slow CI.
      assert.ok(mean < 1_500, `mean ${mean.toFixed(0)} ms`);
    });
  });

  describe('ProofOfWork (relay)', () => {
    it('issues 50-byte challenges that verify once for the right tenant', async () => {
      const pow = new ProofOfWork({ key: KEY, ttlMs: 60_000, maxRemembered: 100 });
      const challenge = pow.issue('acme', 8);
      assert.equal(Buffer.from(challenge, 'base64url').length, CHALLENGE_BYTES);
      const nonce = await solvePow(challenge, 8);
      assert.deepEqual(pow.verify('other', challenge, nonce), { ok: false, reason: 'wrong-tenant' });
      assert.deepEqual(pow.verify('acme', challenge, nonce), { ok: true });
      assert.deepEqual(pow.verify('acme', challenge, nonce), { ok: false, reason: 'reused' });
      assert.equal(pow.remembered, 1);
    });

    it('refuses too little work', () => {
      const pow = new ProofOfWork({ key: KEY, ttlMs: 60_000, maxRemembered: 100 });
      const challenge = pow.issue('acme', 12);
      assert.deepEqual(pow.verify('acme', challenge, badNonce(challenge, 12)), { ok: false, reason: 'insufficient' });
    });

    it('refuses a challenge that was altered or made with another key', async () => {
      const pow = new ProofOfWork({ key: KEY, ttlMs: 60_000, maxRemembered: 100 });
      const other = new ProofOfWork({ key: randomBytes(32), ttlMs: 60_000, maxRemembered: 100 });
      const foreign = other.issue('acme', 4);
      assert.deepEqual(pow.verify('acme', foreign, await solvePow(foreign, 4)), { ok: false, reason: 'forged' });
      // Lower the difficulty byte to 0: the MAC no longer matches.
      const bytes = Buffer.from(pow.issue('acme', 20), 'base64url');
      bytes[17] = 0;
      const lowered = bytes.toString('base64url');
      assert.deepEqual(pow.verify('acme', lowered, 'AA'), { ok: false, reason: 'forged' });
    });

    it('refuses malformed challenges and nonces', () => {
      const pow = new ProofOfWork({ key: KEY, ttlMs: 60_000, maxRemembered: 100 });
      const challenge = pow.issue('acme', 0);
      assert.deepEqual(pow.verify('acme', challenge.slice(0, -4), 'AA'), { ok: false, reason: 'malformed' });
      assert.deepEqual(pow.verify('acme', `${challenge}!`, 'AA'), { ok: false, reason: 'malformed' });
      assert.deepEqual(pow.verify('acme', challenge, ''), { ok: false, reason: 'malformed' });
      assert.deepEqual(pow.verify('acme', challenge, 'A'.repeat(44)), { ok: false, reason: 'malformed' });
      const v2 = Buffer.from(challenge, 'base64url');
      v2[0] = 2;
      assert.deepEqual(pow.verify('acme', v2.toString('base64url'), 'AA'), { ok: false, reason: 'malformed' });
    });

    it('refuses an expired challenge', async () => {
      let now = 1_000_000;
      const pow = new ProofOfWork({ key: KEY, ttlMs: 1_000, maxRemembered: 100, now: () => now });
      const challenge = pow.issue('acme', 4);
      const nonce = await solvePow(challenge, 4);
      now += 1_000;
      assert.deepEqual(pow.verify('acme', challenge, nonce), { ok: false, reason: 'expired' });
    });

    it('remembers a bounded number of solutions and forgets them when they expire', async () => {
      let now = 1_000_000;
      const pow = new ProofOfWork({ key: KEY, ttlMs: 1_000, maxRemembered: 2, now: () => now });
      const solve = async () => {
        const c = pow.issue('acme', 2);
        return [c, await solvePow(c, 2)] as const;
      };
      const a = await solve();
      const b = await solve();
      const c = await solve();
      assert.deepEqual(pow.verify('acme', ...a), { ok: true });
      assert.deepEqual(pow.verify('acme', ...b), { ok: true });
      // Full of unexpired entries: refuse rather than forget one and risk a replay.
      assert.deepEqual(pow.verify('acme', ...c), { ok: false, reason: 'full' });
      now += 1_001;
      const d = await solve();
      assert.deepEqual(pow.verify('acme', ...d), { ok: true });
      assert.equal(pow.remembered, 1);
    });

    it('wants a key of at least 32 bytes', () => {
      assert.throws(() => new ProofOfWork({ key: randomBytes(16), ttlMs: 1, maxRemembered: 1 }), RangeError);
    });
  });

  describe('difficultyFor()', () => {
    const policy = { ...DEFAULTS.pow };

    it('is the base difficulty when idle and rises by loadStep per step of load, up to the cap', () => {
      assert.equal(difficultyFor({ sessions: 0, connectionsPerSecond: 0 }, policy), policy.difficulty);
      assert.equal(difficultyFor({ sessions: policy.sessionsPerStep, connectionsPerSecond: 0 }, policy), policy.difficulty + policy.loadStep);
      assert.equal(
        difficultyFor({ sessions: policy.sessionsPerStep, connectionsPerSecond: policy.connectionsPerSecondPerStep }, policy),
        policy.difficulty + 2 * policy.loadStep,
      );
      assert.equal(difficultyFor({ sessions: 1e9, connectionsPerSecond: 1e9 }, policy), policy.maxDifficulty);
    });
  });
});
