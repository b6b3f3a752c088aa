/**
 * Encryption-key rollover: sessions in flight survive a rotation, new sessions use the new key,
 * and a key past its grace period is refused by the agent and skipped by clients. Signing-key
 * rollover in two steps (next pin in policy, then activate), with the real CLI and a running agent.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing } from '../../agent/keys.ts';
import { parsePolicy } from '../../extension/lib/settings.ts';
import { verifyBundle } from '../../protocol/bundle.ts';
import { CryptoError } from '../../protocol/crypto.ts';
import { agentFromSource } from '../support/cli.ts';
import { expectOp, passEmailGate } from '../support/flows.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

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

describe('Signing-key rollover (`unlatch-agent rotate-signing-key`)', function () {
  this.timeout(90_000);
  let stack: Stack;
  let dir: string;
  let configFile: string;

  const cli = (...args: string[]) => agentFromSource([...args, '--config', configFile]);
  /** The extension's settings from `unlatch-agent policy`, read by the extension's own parser. */
  const deployedPolicy = () => {
    const run = cli('policy', '--out', join(dir, 'policy'));
    assert.equal(run.status, 0, run.stderr);
    const chrome = JSON.parse(readFileSync(join(dir, 'policy', 'chrome-policy.json'), 'utf8')) as { '3rdparty': { extensions: Record<string, unknown> } };
    const parsed = parsePolicy(Object.values(chrome['3rdparty'].extensions)[0]);
    assert.deepEqual(parsed.problems, []);
    return parsed.settings;
  };
  const refused = (pins: string[]) => assert.rejects(stack.openSession({ pin: pins }), { code: 'KEY_PIN_MISMATCH' });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unlatch-signing-'));
    stack = await startStack({ housekeepingMs: 100 });
    configFile = stack.writeAgentConfig(join(dir, 'agent.yaml'));
  });
  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prepares the next key for policy, then switches to it with no moment in which a browser holding both pins is refused', async () => {
    const oldPin = stack.pin;
    const prepared = cli('rotate-signing-key');
    assert.equal(prepared.status, 0, prepared.stderr);
    const nextPin = /nextSigningKeyPin: (\S+)/.exec(prepared.stdout)?.[1] as string;
    assert.match(nextPin, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(nextPin, oldPin);
    assert.ok(prepared.stderr.includes('"event":31041'));
    // Asking again answers the same next key rather than making another.
    assert.equal(/nextSigningKeyPin: (\S+)/.exec(cli('rotate-signing-key').stdout)?.[1], nextPin);

    // Step 1: policy carries both pins; the agent still signs with the old key.
    const during = deployedPolicy();
    assert.equal(during.signingKeyPin, oldPin);
    assert.equal(during.nextSigningKeyPin, nextPin);
    const both = [oldPin, nextPin];
    (await stack.openSession({ pin: both })).close();
    await refused([nextPin]);

    // A person starts a reset before the switch…
    const user = await stack.directory.createUser(stack.directory.uniqueName('sigroll'), { state: 'locked' });
    const inFlight = await stack.openSession({ pin: both });
    await passEmailGate(inFlight, stack.mail, 'reset', user.sam, user.mail as string);

    // Step 2: activate. The running agent picks the key up and republishes its bundle.
    const activated = cli('rotate-signing-key', '--activate');
    assert.equal(activated.status, 0, activated.stderr);
    assert.match(activated.stdout, new RegExp(`signingKeyPin: ${nextPin}`));
    assert.ok(activated.stderr.includes('"event":31042'));
    await waitFor(
      async () => {
        try {
          (await stack.openSession({ pin: [nextPin] })).close();
          return true;
        } catch (err) {
          if ((err as { code?: string }).code !== 'KEY_PIN_MISMATCH') throw err;
          return false;
        }
      },
      5_000,
      50,
    );
    (await stack.openSession({ pin: both })).close();
    await refused([oldPin]);

    // …and finishes it after: the session's keys were agreed when it opened.
    expectOp(await inFlight.request({ op: 'reset', newPassword: await inFlight.sealPassword('newPassword', 'Signing-Rolled-2026') }), 'done');
    inFlight.close();
    assert.equal((await stack.directory.kinit(user.upn, 'Signing-Rolled-2026')).ok, true);

    // Step 3: policy now carries the new pin alone; the old key is kept for a rollback.
    const afterwards = deployedPolicy();
    assert.equal(afterwards.signingKeyPin, nextPin);
    assert.equal(afterwards.nextSigningKeyPin, undefined);
    const keyDir = stack.agentConfig.keys.dir;
    const retired = readdirSync(keyDir).filter((f) => f.startsWith('signing.retired-'));
    assert.equal(retired.length, 1);
    assert.equal(statSync(join(keyDir, retired[0] as string)).mode & 0o077, 0);
    assert.ok(!existsSync(join(keyDir, 'signing.next.json')));

    // Activating with nothing prepared says what to do first, and changes nothing.
    const again = cli('rotate-signing-key', '--activate');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no next signing key: run `unlatch-agent rotate-signing-key` first/);
    (await stack.openSession({ pin: [nextPin] })).close();
  });
});
