/**
 * Encryption-key rollover: sessions in flight survive a rotation, new sessions use the new key,
 * and a key past its grace period is refused by the agent and skipped by clients.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing } from '../../agent/keys.ts';
import { verifyBundle } from '../../protocol/bundle.ts';
import { CryptoError } from '../../protocol/crypto.ts';
import { expectOp, passEmailGate } from '../support/flows.ts';
import { startStack, type Stack } from '../support/stack.ts';

const DAY = 86_400_000;

describe('Key rollover', function () {
  this.timeout(90_000);
  let stack: Stack;
  let clock = Date.now();

  before(async () => {
    stack = await startStack({ now: () => clock });
  });
  after(async () => {
    await stack?.stop();
  });

  it('keeps a session opened before `rotate-keys` working, and gives new sessions the new key', async () => {
    const user = await stack.directory.createUser('rollover', { state: 'locked' });
    const before = await stack.openSession();
    await passEmailGate(before, stack.mail, 'reset', user.sam, user.mail as string);

    const newKid = await stack.agent!.rotateKeys();
    assert.notEqual(newKid, before.keyId);

    // The new bundle reaches the relay on the agent's connection; sessions opened from then on use it.
    let after = await stack.openSession();
    for (let i = 0; i < 20 && after.keyId !== newKid; i++) {
      after.close();
      await new Promise((r) => setTimeout(r, 50));
      after = await stack.openSession();
    }
    assert.equal(after.keyId, newKid, 'a new session must use the new key (the extension picks it up from the bundle)');
    after.close();

    // The old session finishes its reset on the old key, within the grace period.
    expectOp(await before.request({ op: 'reset', newPassword: await before.sealPassword('newPassword', 'Rolled-Over-2026') }), 'done');
    before.close();
    assert.equal((await stack.directory.kinit(user.upn, 'Rolled-Over-2026')).ok, true);
  });

  it('refuses a key past its grace period, and clients skip it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unlatch-keys-'));
    try {
      let now = Date.now();
      const ring = await KeyRing.init({ dir, tenant: 'acme', rotateDays: 180, graceDays: 7, now: () => now });
      const oldKid = ring.current().kid;
      const newKid = await ring.rotate();
      assert.ok(ring.privateKey(oldKid), 'the old key is still accepted during the grace period');
      now += 8 * DAY;
      assert.throws(() => ring.privateKey(oldKid), CryptoError);
      assert.ok(ring.privateKey(newKid));
      const keys = await verifyBundle(await ring.bundle(), { pin: await ring.pin(), tenant: 'acme', now });
      assert.deepEqual(keys.map((k) => k.kid), [newKid]);
      // A bundle from before the rotation, replayed later, offers only keys clients must skip.
      now -= 8 * DAY;
      const stale = await ring.bundle();
      const fromStale = await verifyBundle(stale, { pin: await ring.pin(), tenant: 'acme', now: now + 8 * DAY });
      assert.ok(!fromStale.some((k) => k.kid === oldKid));
      // Rotation is due after rotateDays.
      now += 181 * DAY;
      assert.equal(ring.rotationDue(), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
