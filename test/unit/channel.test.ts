/**
 * SealedChannel: the ordered, sealed two-way channel between client and agent over a relay
 * that must learn nothing and change nothing (docs/protocol.md, "Session crypto").
 */
import assert from 'node:assert/strict';
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from '../../protocol/bytes.ts';
import { PAD_BLOCK, SealedChannel } from '../../protocol/channel.ts';
import { aesGcmOpen, aesGcmSeal, CryptoError, GCM_TAG_BYTES, importAesKey, useSubtle } from '../../protocol/crypto.ts';

const TENANT = 'acme';
const GENERIC = new CryptoError();

function newSid(): string {
  return toBase64Url(randomBytes(16));
}

async function newKey(): Promise<CryptoKey> {
  return importAesKey(randomBytes(32));
}

/** A client and an agent sharing one session key, tenant and sid. */
async function pair(opts: { tenant?: string; sid?: string } = {}) {
  const key = await newKey();
  const sid = opts.sid ?? newSid();
  const tenant = opts.tenant ?? TENANT;
  return {
    key,
    sid,
    client: new SealedChannel(key, tenant, sid, 'client'),
    agent: new SealedChannel(key, tenant, sid, 'agent'),
  };
}

/** Asserts the one generic CryptoError: same class, name, code and message as every other. */
function isGeneric(err: unknown): true {
  assert.ok(err instanceof CryptoError, `expected CryptoError, got ${String(err)}`);
  assert.equal(err.constructor, CryptoError);
  assert.equal(err.name, GENERIC.name);
  assert.equal(err.code, GENERIC.code);
  assert.equal(err.message, GENERIC.message);
  return true;
}

async function rejectsGeneric(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, isGeneric);
}

/** Seals `n` frames in a row: frames[i] carries { n: i } and sequence number i. */
async function sealMany(sender: SealedChannel, n: number): Promise<string[]> {
  const frames: string[] = [];
  for (let i = 0; i < n; i++) frames.push(await sender.seal({ n: i }));
  return frames;
}

/**
 * The channel refused once, so it must refuse `next` even though `next` carries exactly the
 * sequence number the channel would expect now (the failed attempt used one up): only the
 * broken state can reject it.
 */
async function assertStaysBroken(channel: SealedChannel, next: string, ...more: string[]): Promise<void> {
  await rejectsGeneric(channel.open(next));
  for (const frame of more) await rejectsGeneric(channel.open(frame));
}

function flipBit(data: string, byteIndex: number, bit: number): string {
  const bytes = fromBase64Url(data);
  bytes[byteIndex] = (bytes[byteIndex] as number) ^ (1 << bit);
  return toBase64Url(bytes);
}

// The wire format, rebuilt from docs/protocol.md rather than from channel.ts.
function specNonce(direction: 1 | 2, seq: number): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(12);
  n[0] = direction;
  new DataView(n.buffer).setBigUint64(4, BigInt(seq), false);
  return n;
}
function specAad(tenant: string, sid: string, direction: 1 | 2, seq: number): Uint8Array<ArrayBuffer> {
  return utf8(`unlatch/v1|${tenant}|${sid}|${direction}|${seq}`);
}

describe('SealedChannel', function () {
  describe('roundtrip', function () {
    it('carries JSON client → agent and agent → client, interleaved, in order', async function () {
      const { client, agent } = await pair();
      const requests = [{ op: 'start', action: 'reset', user: 'alice' }, { op: 'gate.send', gate: 'email' }, { op: 'unlock' }];
      const answers = [{ op: 'challenge', n: 1 }, { op: 'gate.sent', gate: 'email', resendAfter: 60 }, { op: 'done', action: 'unlock' }];
      for (let i = 0; i < requests.length; i++) {
        assert.deepEqual(await agent.open(await client.seal(requests[i])), requests[i]);
        assert.deepEqual(await client.open(await agent.seal(answers[i])), answers[i]);
      }
    });

    it('carries non-ASCII text, nested values and strings full of spaces intact', async function () {
      const { client, agent } = await pair();
      const message = { user: 'jürgen.müller@corp.example', note: '日本語 🔑', deep: { list: [1, 'two', null, true] }, spaces: '   ' };
      assert.deepEqual(await agent.open(await client.seal(message)), message);
      const tricky = '  trailing   ';
      assert.equal(await agent.open(await client.seal(tricky)), tricky);
    });

    it('runs many frames in one direction before the other side answers', async function () {
      const { client, agent } = await pair();
      const frames: string[] = [];
      for (let i = 0; i < 50; i++) frames.push(await client.seal({ i }));
      for (let i = 0; i < 50; i++) assert.deepEqual(await agent.open(frames[i] as string), { i });
    });

    it('uses the documented nonce and AAD (direction ‖ 000 ‖ seq64be; unlatch/v1|tenant|sid|direction|seq)', async function () {
      const { key, sid, client, agent } = await pair();
      await client.seal({ first: true });
      const second = fromBase64Url(await client.seal({ second: true }));
      const plain = await aesGcmOpen(key, specNonce(1, 1), second, specAad(TENANT, sid, 1, 1));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(plain)), { second: true });
      // And the other way: a frame built by hand to the spec opens as the agent's frame 0.
      const byHand = await aesGcmSeal(key, specNonce(2, 0), utf8('{"op":"done","action":"reset"}'), specAad(TENANT, sid, 2, 0));
      assert.deepEqual(await client.open(toBase64Url(byHand)), { op: 'done', action: 'reset' });
      // The agent's own receive counter is independent of what the client sent.
      await rejectsGeneric(agent.open(toBase64Url(second)));
    });
  });

  describe('rejects a relay that replays, reorders, drops, alters or redirects frames', function () {
    it('a replayed frame, and the channel stays broken', async function () {
      const { client, agent } = await pair();
      const [f0, f1, f2] = (await sealMany(client, 3)) as [string, string, string];
      assert.deepEqual(await agent.open(f0), { n: 0 });
      await rejectsGeneric(agent.open(f0));
      await assertStaysBroken(agent, f2, f1);
    });

    it('a reordered pair, and the channel stays broken', async function () {
      const { client, agent } = await pair();
      const [f0, f1, f2] = (await sealMany(client, 3)) as [string, string, string];
      await rejectsGeneric(agent.open(f1));
      await assertStaysBroken(agent, f1, f2, f0);
    });

    it('a dropped frame: the next one fails, and so does everything after', async function () {
      const { client, agent } = await pair();
      const [f0, f1, f2, f3] = (await sealMany(client, 4)) as [string, string, string, string];
      assert.deepEqual(await agent.open(f0), { n: 0 });
      await rejectsGeneric(agent.open(f2));
      await assertStaysBroken(agent, f2, f3, f1);
    });

    it('a truncated frame, an empty frame and a frame that is not base64url', async function () {
      const { key, sid, client } = await pair();
      const [f0, f1] = (await sealMany(client, 2)) as [string, string];
      for (const bad of [f0.slice(0, -4), f0.slice(0, 22), '', `${f0}AAAA`, f0.replace(/.$/, '+'), `${f0}=`, ` ${f0}`]) {
        const agent = new SealedChannel(key, TENANT, sid, 'agent');
        await rejectsGeneric(agent.open(bad));
        await assertStaysBroken(agent, f1);
      }
    });

    it('a bit flip anywhere in the frame (every byte of ciphertext and tag)', async function () {
      const key = await newKey();
      const sid = newSid();
      const client = new SealedChannel(key, TENANT, sid, 'client');
      const genuine = await client.seal({ op: 'reset', newPassword: 'x'.repeat(40) });
      const next = await client.seal({ op: 'unlock' });
      const length = fromBase64Url(genuine).length;
      assert.equal(length, PAD_BLOCK + GCM_TAG_BYTES);
      for (let i = 0; i < length; i++) {
        const agent = new SealedChannel(key, TENANT, sid, 'agent');
        await rejectsGeneric(agent.open(flipBit(genuine, i, i % 8)));
        await assertStaysBroken(agent, next);
      }
      // Control: untouched, both frames open in order on a fresh channel.
      const control = new SealedChannel(key, TENANT, sid, 'agent');
      assert.deepEqual(await control.open(genuine), { op: 'reset', newPassword: 'x'.repeat(40) });
      assert.deepEqual(await control.open(next), { op: 'unlock' });
    });

    it('a frame reflected back to its sender (either direction)', async function () {
      const { client, agent } = await pair();
      const [c0] = (await sealMany(client, 1)) as [string];
      const [, a1] = (await sealMany(agent, 2)) as [string, string];
      await rejectsGeneric(client.open(c0));
      await assertStaysBroken(client, a1);

      const p = await pair();
      const [a0] = (await sealMany(p.agent, 1)) as [string];
      const [, c1] = (await sealMany(p.client, 2)) as [string, string];
      await rejectsGeneric(p.agent.open(a0));
      await assertStaysBroken(p.agent, c1);
    });

    it('a frame sealed for another session id, another tenant or under another key', async function () {
      const key = await newKey();
      const sid = newSid();
      const cases = [
        { name: 'other sid', sender: new SealedChannel(key, TENANT, newSid(), 'client') },
        { name: 'other tenant', sender: new SealedChannel(key, 'evil', sid, 'client') },
        { name: 'other key', sender: new SealedChannel(await newKey(), TENANT, sid, 'client') },
      ];
      const [, genuine1] = (await sealMany(new SealedChannel(key, TENANT, sid, 'client'), 2)) as [string, string];
      for (const { name, sender } of cases) {
        const agent = new SealedChannel(key, TENANT, sid, 'agent');
        await assert.rejects(agent.open(await sender.seal({ n: 0 })), isGeneric, name);
        await assertStaysBroken(agent, genuine1);
      }
    });

    it('a frame whose sealed plaintext is not JSON or not UTF-8', async function () {
      const { key, sid } = await pair();
      for (const plain of [utf8('not json'), new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])]) {
        const agent = new SealedChannel(key, TENANT, sid, 'agent');
        const frame = toBase64Url(await aesGcmSeal(key, specNonce(1, 0), plain, specAad(TENANT, sid, 1, 0)));
        await rejectsGeneric(agent.open(frame));
      }
    });

    it('every one of these failures is the same error, indistinguishable to the caller', async function () {
      const errors: unknown[] = [];
      const collect = async (p: Promise<unknown>) => p.then(() => assert.fail('should have failed'), (e: unknown) => errors.push(e));
      const a = await pair();
      const f0 = await a.client.seal(1);
      await collect(a.agent.open(flipBit(f0, 3, 0))); // tampered
      await collect(a.agent.open(f0)); // after breaking
      const b = await pair();
      await collect(b.agent.open(await b.client.seal(1).then(() => b.client.seal(2)))); // reordered
      const c = await pair();
      await collect(c.client.open(await c.client.seal(1))); // reflected
      const d = await pair();
      await collect(d.agent.open('!!!')); // not base64url
      assert.equal(errors.length, 5);
      for (const e of errors) isGeneric(e);
      assert.equal(new Set(errors.map((e) => (e as Error).message)).size, 1);
      assert.equal(new Set(errors.map((e) => Object.getPrototypeOf(e))).size, 1);
    });
  });

  describe('sizes', function () {
    it('pads to multiples of 256 bytes: a 1-character and a 200-character message look alike', async function () {
      const { client } = await pair();
      const short = fromBase64Url(await client.seal('a'));
      const long = fromBase64Url(await client.seal('x'.repeat(200)));
      assert.equal(short.length, long.length);
      assert.equal(short.length, PAD_BLOCK + GCM_TAG_BYTES);
      assert.equal(PAD_BLOCK, 256);
    });

    it('every sealed length is a multiple of 256 plus the tag, and grows only in whole blocks', async function () {
      const { client, agent } = await pair();
      for (let n = 0; n <= 800; n += 7) {
        const text = 'y'.repeat(n);
        const frame = await client.seal(text);
        const sealedLength = fromBase64Url(frame).length;
        const jsonLength = n + 2; // the two quotes
        assert.equal((sealedLength - GCM_TAG_BYTES) % PAD_BLOCK, 0, `length ${sealedLength} for n=${n}`);
        assert.ok(sealedLength - GCM_TAG_BYTES > jsonLength, `n=${n}: no room for the padding`);
        assert.ok(sealedLength - GCM_TAG_BYTES <= jsonLength + PAD_BLOCK, `n=${n}: more than one block of padding`);
        assert.equal(await agent.open(frame), text);
      }
    });

    it('pads with spaces after the JSON (checked by opening with the raw primitive)', async function () {
      const { key, sid, client } = await pair();
      const sealed = fromBase64Url(await client.seal({ a: 1 }));
      const plain = new TextDecoder().decode(await aesGcmOpen(key, specNonce(1, 0), sealed, specAad(TENANT, sid, 1, 0)));
      assert.equal(plain.length, PAD_BLOCK);
      assert.equal(plain, '{"a":1}'.padEnd(PAD_BLOCK, ' '));
    });

    it('multi-byte characters are counted in bytes, not characters', async function () {
      const { client, agent } = await pair();
      const text = '🔑'.repeat(70); // 280 UTF-8 bytes, 140 UTF-16 units
      const frame = await client.seal(text);
      assert.equal(fromBase64Url(frame).length, 2 * PAD_BLOCK + GCM_TAG_BYTES);
      assert.equal(await agent.open(frame), text);
    });
  });

  describe('concurrency', function () {
    it('concurrent seals come out in sequence order, even when the first encryptions are slowest', async function () {
      const { client, agent } = await pair();
      // A SubtleCrypto whose first four encryptions take longest: if a later seal could
      // overtake an earlier one, the frames would be sent out of order. Sent as each seal
      // resolves, the way a caller does.
      const real = globalThis.crypto.subtle;
      let calls = 0;
      const slowFirst = new Proxy(real, {
        get(target, prop) {
          if (prop === 'encrypt') {
            return async (...args: Parameters<SubtleCrypto['encrypt']>) => {
              const n = calls++;
              await new Promise((r) => setTimeout(r, n < 4 ? 40 - n * 10 : 0));
              return target.encrypt(...args);
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const messages = Array.from({ length: 40 }, (_, i) => ({ i, filler: 'z'.repeat((i * 997) % 3000) }));
      const sent: string[] = [];
      useSubtle(slowFirst);
      try {
        await Promise.all(messages.map((m) => client.seal(m).then((frame) => sent.push(frame))));
      } finally {
        useSubtle(undefined);
      }
      assert.equal(calls, messages.length, 'every seal went through the slowed SubtleCrypto');
      for (let i = 0; i < sent.length; i++) assert.deepEqual(await agent.open(sent[i] as string), messages[i], `frame ${i}`);
    });

    it('concurrent opens, called in order, resolve in order', async function () {
      const { client, agent } = await pair();
      const frames: string[] = [];
      for (let i = 0; i < 20; i++) frames.push(await client.seal({ i }));
      const opened = await Promise.all(frames.map((f) => agent.open(f)));
      assert.deepEqual(opened, frames.map((_, i) => ({ i })));
    });

    it('a failure among concurrent opens fails that one and every later one', async function () {
      const { client, agent } = await pair();
      const frames: string[] = [];
      for (let i = 0; i < 6; i++) frames.push(await client.seal({ i }));
      frames[3] = flipBit(frames[3] as string, 10, 2);
      const results = await Promise.allSettled(frames.map((f) => agent.open(f)));
      assert.deepEqual(results.slice(0, 3).map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled']);
      for (const r of results.slice(3)) {
        assert.equal(r.status, 'rejected');
        isGeneric((r as PromiseRejectedResult).reason);
      }
    });
  });
});
