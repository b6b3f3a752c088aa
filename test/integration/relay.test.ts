/**
 * The relay as users and agents meet it: a real relay on port 0, real `ws` clients playing the
 * extension and fake agents (the relay never looks inside `data`, so the agents just echo).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, type ClientOptions } from 'ws';
import type { SignedBundle } from '../../protocol/envelope.ts';
import { solvePow } from '../../protocol/pow.ts';
import { ConfigError, hashTenantSecret, parseConfig, startRelay, type FrameDirection, type Relay, type RelayOptions } from '../../relay/index.ts';
import { waitFor } from '../support/wait.ts';

const ACME_SECRET = randomBytes(32).toString('base64url');
const OTHER_SECRET = randomBytes(32).toString('base64url');
const EXTENSION_ORIGIN = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const FIREFOX_ORIGIN = 'moz-extension://0b7e3c3a-1b2c-4d5e-8f90-123456789abc';

function bundle(tag: string): SignedBundle {
  return {
    payload: Buffer.from(JSON.stringify({ v: 1, tenant: tag })).toString('base64url'),
    sig: randomBytes(64).toString('base64url'),
    signingKey: randomBytes(91).toString('base64url'),
  };
}
const b64u = (n = 32) => randomBytes(n).toString('base64url');

/** Generous limits so tests that open many connections from 127.0.0.1 are not throttled. */
function testOptions(overrides: RelayOptions = {}): RelayOptions {
  return {
    log: { level: 'silent' },
    ...overrides,
    tenants: overrides.tenants ?? [
      { id: 'acme', secretHash: hashTenantSecret(ACME_SECRET), allowedOrigins: [EXTENSION_ORIGIN], allowFirefox: true, allowNoOrigin: true },
      { id: 'other', secretHash: hashTenantSecret(OTHER_SECRET), allowNoOrigin: true },
    ],
    pow: { difficulty: 4, maxDifficulty: 8, ...overrides.pow },
    limits: {
      connectionsPerAddress: { perSecond: 1_000, burst: 1_000 },
      framesPerAddress: { perSecond: 1_000, burst: 1_000 },
      ...overrides.limits,
    },
  };
}

type Frame = Record<string, unknown> & { t: string };

/** A WebSocket with an inbox of parsed frames and a promise of its close. */
class Peer {
  readonly frames: Frame[] = [];
  private waiters: ((f: Frame) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const frame = JSON.parse(isBinary ? '{"t":"<binary>"}' : data.toString()) as Frame;
      const w = this.waiters.shift();
      if (w) w(frame);
      else this.frames.push(frame);
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  next(timeoutMs = 3_000): Promise<Frame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('no frame arrived'));
      }, timeoutMs);
      const waiter = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if no frame arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  close(): void {
    this.ws.close();
  }
}

function connectClient(relay: Relay, tenant = 'acme', options: ClientOptions = {}): Peer {
  return new Peer(new WebSocket(`${relay.url}/v1/client?tenant=${tenant}`, { origin: EXTENSION_ORIGIN, ...options }));
}

function connectRawAgent(relay: Relay, tenant: string, secret: string, options: ClientOptions = {}): Peer {
  return new Peer(new WebSocket(`${relay.url}/v1/agent?tenant=${tenant}`, { headers: { authorization: `Bearer ${secret}` }, ...options }));
}

/** An agent that has said hello and is online (the relay counts it). */
async function connectAgent(
  relay: Relay,
  opts: { tenant?: string; secret?: string; id?: string; bundle?: SignedBundle; echo?: boolean; ws?: ClientOptions } = {},
): Promise<Peer> {
  const tenant = opts.tenant ?? 'acme';
  const before = relay.stats().agents;
  const agent = connectRawAgent(relay, tenant, opts.secret ?? (tenant === 'acme' ? ACME_SECRET : OTHER_SECRET), opts.ws);
  await agent.opened;
  agent.send({ t: 'hello', agent: opts.id ?? `agent-${b64u(4)}`, bundle: opts.bundle ?? bundle(tenant) });
  await waitFor(() => relay.stats().agents > before, 3_000, 5);
  if (opts.echo) {
    // Answers every message with the same data, after the test has seen it.
    agent.ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString()) as Frame;
      if (f.t === 'msg') agent.ws.send(JSON.stringify({ t: 'msg', sid: f.sid, data: f.data }));
    });
  }
  return agent;
}

async function solve(client: Peer): Promise<{ challenge: string; nonce: string; difficulty: number }> {
  const pow = await client.next();
  assert.equal(pow.t, 'pow');
  const challenge = pow.challenge as string;
  const difficulty = pow.difficulty as number;
  return { challenge, nonce: await solvePow(challenge, difficulty), difficulty };
}

/** Connects, solves the PoW, opens; returns the client and the `opened` frame. */
async function openSession(relay: Relay, tenant = 'acme', options: ClientOptions = {}): Promise<{ client: Peer; opened: Frame }> {
  const client = connectClient(relay, tenant, options);
  const { challenge, nonce } = await solve(client);
  client.send({ t: 'open', challenge, nonce });
  const opened = await client.next();
  assert.equal(opened.t, 'opened', `expected opened, got ${JSON.stringify(opened)}`);
  return { client, opened };
}

/** Expects a rejected upgrade and returns its HTTP status. */
async function rejectedStatus(peer: Peer): Promise<number> {
  const err = (await peer.opened.then(
    () => assert.fail('the upgrade was accepted'),
    (e: unknown) => e,
  )) as { status?: number };
  return err.status ?? 0;
}

async function expectError(client: Peer, code: string): Promise<Frame> {
  const frame = await client.next();
  assert.equal(frame.t, 'error', JSON.stringify(frame));
  assert.equal(frame.code, code, JSON.stringify(frame));
  assert.equal(typeof frame.message, 'string');
  return frame;
}

/** A full round trip through an echoing agent: the relay is still serving. */
async function roundTrip(relay: Relay, tenant = 'acme'): Promise<void> {
  const { client } = await openSession(relay, tenant);
  const data = b64u(64);
  client.send({ t: 'msg', data, kid: 'k1', wk: b64u(384) });
  assert.deepEqual(await client.next(), { t: 'msg', data });
  client.close();
}

describe('Relay', function () {
  this.timeout(20_000);
  let relay: Relay;
  const peers: Peer[] = [];
  const track = <T extends Peer>(p: T): T => (peers.push(p), p);

  afterEach(async () => {
    for (const p of peers.splice(0)) p.ws.terminate();
    await relay?.close();
  });

  describe('GET /healthz', () => {
    it('answers {"status":"ok"} with agent and client counts', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay));
      const client = track(connectClient(relay));
      await client.opened;
      const res = await fetch(`${relay.url.replace('ws', 'http')}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.deepEqual(await res.json(), { status: 'ok', agents: 1, clients: 1 });
      assert.equal((await fetch(`${relay.url.replace('ws', 'http')}/nope`)).status, 404);
    });
  });

  describe('agent authentication', () => {
    it('refuses a wrong secret, a missing one, another tenant\'s, and an unknown tenant with 401 before any WebSocket exists', async () => {
      relay = await startRelay(testOptions());
      const attempts = [
        connectRawAgent(relay, 'acme', 'wrong'),
        connectRawAgent(relay, 'acme', OTHER_SECRET),
        connectRawAgent(relay, 'nosuch', ACME_SECRET),
        new Peer(new WebSocket(`${relay.url}/v1/agent?tenant=acme`)),
        new Peer(new WebSocket(`${relay.url}/v1/agent?tenant=acme`, { headers: { authorization: `Basic ${ACME_SECRET}` } })),
      ];
      for (const a of attempts) assert.equal(await rejectedStatus(track(a)), 401);
      assert.equal(await rejectedStatus(track(connectRawAgent(relay, 'Bad_Tenant', ACME_SECRET))), 400);
      assert.equal(relay.stats().connections, 0);
      assert.equal(relay.stats().agents, 0);
    });

    it('accepts the right secret', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay));
      assert.equal(relay.stats().tenants['acme']?.agents, 1);
    });

    it('closes an agent that sends no hello in time, or something else first', async () => {
      relay = await startRelay(testOptions({ timeouts: { helloTimeoutMs: 100 } }));
      const silent = track(connectRawAgent(relay, 'acme', ACME_SECRET));
      await silent.opened;
      assert.equal((await silent.closed).code, 1008);
      const rude = track(connectRawAgent(relay, 'acme', ACME_SECRET));
      await rude.opened;
      rude.send({ t: 'bundle', bundle: bundle('acme') });
      assert.equal((await rude.closed).code, 1008);
    });
  });

  describe('client origins', () => {
    it('refuses an origin not on the allowlist with 403', async () => {
      relay = await startRelay(testOptions());
      for (const origin of ['https://evil.example', 'chrome-extension://pppppppppppppppppppppppppppppppp', 'null']) {
        assert.equal(await rejectedStatus(track(connectClient(relay, 'acme', { origin }))), 403, origin);
      }
      assert.equal(relay.stats().connections, 0);
    });

    it('accepts the allowlisted Chromium id, any Firefox extension when allowFirefox, and no Origin when allowNoOrigin', async () => {
      relay = await startRelay(testOptions());
      for (const origin of [EXTENSION_ORIGIN, FIREFOX_ORIGIN]) {
        const c = track(connectClient(relay, 'acme', { origin }));
        assert.equal((await c.next()).t, 'pow');
      }
      const terminal = track(new Peer(new WebSocket(`${relay.url}/v1/client?tenant=acme`)));
      assert.equal((await terminal.next()).t, 'pow');
    });

    it('refuses Firefox and no-Origin clients for a tenant that does not allow them', async () => {
      relay = await startRelay(
        testOptions({ tenants: [{ id: 'acme', secretHash: hashTenantSecret(ACME_SECRET), allowedOrigins: [EXTENSION_ORIGIN] }] }),
      );
      assert.equal(await rejectedStatus(track(connectClient(relay, 'acme', { origin: FIREFOX_ORIGIN }))), 403);
      assert.equal(await rejectedStatus(track(new Peer(new WebSocket(`${relay.url}/v1/client?tenant=acme`)))), 403);
    });

    it('tells a client of an unknown tenant UNKNOWN_TENANT', async () => {
      relay = await startRelay(testOptions());
      const c = track(connectClient(relay, 'nosuch'));
      await expectError(c, 'UNKNOWN_TENANT');
      assert.equal((await c.closed).code, 1008);
    });
  });

  describe('sessions', () => {
    it('hands the agent\'s bundle to the client in "opened", and a new bundle after rollover', async () => {
      relay = await startRelay(testOptions());
      const first = bundle('first');
      const agent = track(await connectAgent(relay, { bundle: first }));
      const { client, opened } = await openSession(relay);
      track(client);
      assert.deepEqual(Object.keys(opened).sort(), ['bundle', 'sid', 't']);
      assert.match(opened.sid as string, /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(opened.bundle, first);
      const second = bundle('second');
      agent.send({ t: 'bundle', bundle: second });
      await new Promise((r) => setTimeout(r, 50));
      const again = await openSession(relay);
      track(again.client);
      assert.deepEqual(again.opened.bundle, second);
      assert.notEqual(again.opened.sid, opened.sid);
    });

    it('routes messages both ways with the sid, kid/wk on the first one only, and tells the agent when the client leaves', async () => {
      relay = await startRelay(testOptions());
      const agent = track(await connectAgent(relay));
      const { client, opened } = await openSession(relay);
      track(client);
      const sid = opened.sid as string;
      const wk = b64u(384);
      const d1 = b64u(100);
      client.send({ t: 'msg', data: d1, kid: 'enc-2025', wk });
      assert.deepEqual(await agent.next(), { t: 'msg', sid, data: d1, kid: 'enc-2025', wk });
      const a1 = b64u(200);
      agent.send({ t: 'msg', sid, data: a1 });
      assert.deepEqual(await client.next(), { t: 'msg', data: a1 });
      const d2 = b64u(50);
      client.send({ t: 'msg', data: d2 });
      assert.deepEqual(await agent.next(), { t: 'msg', sid, data: d2 });
      client.close();
      assert.deepEqual(await agent.next(), { t: 'close', sid });
      await waitFor(() => relay.stats().sessions === 0, 3_000, 5);
    });

    it('closes the client normally when the agent ends the session', async () => {
      relay = await startRelay(testOptions());
      const agent = track(await connectAgent(relay));
      const { client, opened } = await openSession(relay);
      track(client);
      client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await agent.next();
      agent.send({ t: 'msg', sid: opened.sid, data: 'BBBB' });
      agent.send({ t: 'close', sid: opened.sid });
      assert.deepEqual(await client.next(), { t: 'msg', data: 'BBBB' });
      assert.equal((await client.closed).code, 1000);
      assert.equal(await agent.silentFor(100), true, 'the agent is not told about a close it made');
    });

    it('refuses a first msg without kid/wk, and kid/wk on a later one', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay, { echo: true }));
      const a = await openSession(relay);
      track(a.client);
      a.client.send({ t: 'msg', data: 'AAAA' });
      await expectError(a.client, 'BAD_FRAME');
      const b = await openSession(relay);
      track(b.client);
      b.client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await b.client.next();
      b.client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await expectError(b.client, 'BAD_FRAME');
    });

    it('spreads sessions over two agents of one tenant', async () => {
      relay = await startRelay(testOptions());
      const agents = [track(await connectAgent(relay, { id: 'a1' })), track(await connectAgent(relay, { id: 'a2' }))];
      for (let i = 0; i < 4; i++) {
        const { client } = await openSession(relay);
        track(client);
        client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      }
      await waitFor(() => agents[0]!.frames.length + agents[1]!.frames.length === 4, 3_000, 5);
      assert.deepEqual(
        agents.map((a) => a.frames.length),
        [2, 2],
      );
      assert.equal(relay.stats().tenants['acme']?.agents, 2);
    });

    it('keeps a session on its agent: a second agent of the same tenant cannot write to it', async () => {
      relay = await startRelay(testOptions());
      const owner = track(await connectAgent(relay, { id: 'owner' }));
      const { client, opened } = await openSession(relay);
      track(client);
      const intruder = track(await connectAgent(relay, { id: 'intruder' }));
      client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await owner.next();
      intruder.send({ t: 'msg', sid: opened.sid, data: 'SU5KRUNU' });
      assert.deepEqual(await intruder.next(), { t: 'close', sid: opened.sid });
      assert.equal(await client.silentFor(150), true);
    });

    it('an agent of another tenant cannot send to an acme session', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay, { tenant: 'acme' }));
      const foreign = track(await connectAgent(relay, { tenant: 'other' }));
      const { client, opened } = await openSession(relay);
      track(client);
      foreign.send({ t: 'msg', sid: opened.sid, data: 'SU5KRUNU' });
      foreign.send({ t: 'close', sid: opened.sid });
      assert.deepEqual(await foreign.next(), { t: 'close', sid: opened.sid });
      assert.equal(await client.silentFor(150), true);
      assert.equal(relay.stats().sessions, 1, 'the acme session is still open');
    });

    it('replaces an older connection of the same agent id', async () => {
      relay = await startRelay(testOptions());
      const old = track(await connectAgent(relay, { id: 'dc1' }));
      const fresh = track(connectRawAgent(relay, 'acme', ACME_SECRET));
      await fresh.opened;
      fresh.send({ t: 'hello', agent: 'dc1', bundle: bundle('acme') });
      assert.equal((await old.closed).code, 4000);
    });
  });

  describe('AGENT_OFFLINE', () => {
    it('answers right after "open" (< 1 s) when no agent of the tenant is online', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay, { tenant: 'other' }));
      const client = track(connectClient(relay));
      const { challenge, nonce } = await solve(client);
      const start = performance.now();
      client.send({ t: 'open', challenge, nonce });
      await expectError(client, 'AGENT_OFFLINE');
      const elapsed = performance.now() - start;
      assert.ok(elapsed < 1_000, `${elapsed.toFixed(0)} ms`);
      assert.equal((await client.closed).code, 1013);
    });

    it('answers at once (< 1 s) when the session\'s agent disconnects mid-session, and the agent\'s peer keeps working', async () => {
      relay = await startRelay(testOptions());
      const first = track(await connectAgent(relay, { id: 'first' }));
      const { client } = await openSession(relay);
      track(client);
      track(await connectAgent(relay, { id: 'second', echo: true }));
      client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await first.next();
      const start = performance.now();
      first.ws.terminate();
      await expectError(client, 'AGENT_OFFLINE');
      const elapsed = performance.now() - start;
      assert.ok(elapsed < 1_000, `${elapsed.toFixed(0)} ms`);
      // New sessions go to the agent still online.
      await roundTrip(relay);
    });
  });

  describe('proof of work', () => {
    it('refuses a wrong nonce with POW_INVALID', async () => {
      relay = await startRelay(testOptions({ pow: { difficulty: 8 } }));
      track(await connectAgent(relay));
      const client = track(connectClient(relay));
      const pow = await client.next();
      assert.equal(pow.difficulty, 8);
      // Find a nonce that fails: most do at 8 bits.
      let nonce = '';
      for (let i = 0; ; i++) {
        nonce = Buffer.from([i]).toString('base64url');
        const h = createHash('sha256').update(Buffer.from(pow.challenge as string, 'base64url')).update(Buffer.from(nonce, 'base64url')).digest();
        if (h[0] !== 0) break;
      }
      client.send({ t: 'open', challenge: pow.challenge, nonce });
      await expectError(client, 'POW_INVALID');
      assert.equal((await client.closed).code, 1008);
    });

    it('accepts a solved challenge once: a reused one is refused', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay));
      const a = track(connectClient(relay));
      const solved = await solve(a);
      a.send({ t: 'open', challenge: solved.challenge, nonce: solved.nonce });
      assert.equal((await a.next()).t, 'opened');
      const b = track(connectClient(relay));
      await b.next();
      b.send({ t: 'open', challenge: solved.challenge, nonce: solved.nonce });
      const err = await expectError(b, 'POW_INVALID');
      assert.match(err.message as string, /already used/);
    });

    it('refuses an expired challenge', async () => {
      relay = await startRelay(testOptions({ pow: { ttlMs: 200 } }));
      track(await connectAgent(relay));
      const a = track(connectClient(relay));
      const solved = await solve(a);
      await new Promise((r) => setTimeout(r, 250));
      const b = track(connectClient(relay));
      await b.next();
      b.send({ t: 'open', challenge: solved.challenge, nonce: solved.nonce });
      const err = await expectError(b, 'POW_INVALID');
      assert.match(err.message as string, /expired/);
    });

    it('refuses a challenge issued for another tenant, and a forged one', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay, { tenant: 'acme' }));
      track(await connectAgent(relay, { tenant: 'other' }));
      const foreign = track(connectClient(relay, 'other', { origin: undefined }));
      const solved = await solve(foreign);
      const c = track(connectClient(relay, 'acme'));
      await c.next();
      c.send({ t: 'open', challenge: solved.challenge, nonce: solved.nonce });
      assert.match((await expectError(c, 'POW_INVALID')).message as string, /another tenant/);
      const d = track(connectClient(relay, 'acme'));
      const own = await solve(d);
      const bytes = Buffer.from(own.challenge, 'base64url');
      bytes[30] = (bytes[30] as number) ^ 1;
      d.send({ t: 'open', challenge: bytes.toString('base64url'), nonce: own.nonce });
      await expectError(d, 'POW_INVALID');
    });

    it('closes a client that sends no solution in time', async () => {
      relay = await startRelay(testOptions({ pow: { ttlMs: 150 } }));
      const c = track(connectClient(relay));
      await c.next();
      await expectError(c, 'SESSION_EXPIRED');
    });

    it('asks for more work when a tenant is busy', async () => {
      relay = await startRelay(testOptions({ pow: { difficulty: 2, maxDifficulty: 10, loadStep: 3, sessionsPerStep: 2, connectionsPerSecondPerStep: 1_000 } }));
      track(await connectAgent(relay, { echo: true }));
      for (let i = 0; i < 2; i++) track((await openSession(relay)).client);
      const c = track(connectClient(relay));
      assert.equal((await c.next()).difficulty, 5);
    });
  });

  describe('expiry', () => {
    it('drops a message the agent does not answer in time: SESSION_EXPIRED to the client, close to the agent', async () => {
      relay = await startRelay(testOptions({ timeouts: { messageTimeoutMs: 200 } }));
      const agent = track(await connectAgent(relay));
      const { client, opened } = await openSession(relay);
      track(client);
      const start = performance.now();
      client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await agent.next();
      const err = await expectError(client, 'SESSION_EXPIRED');
      const elapsed = performance.now() - start;
      assert.match(err.message as string, /did not answer/);
      assert.ok(elapsed >= 190 && elapsed < 1_500, `${elapsed.toFixed(0)} ms`);
      assert.deepEqual(await agent.next(), { t: 'close', sid: opened.sid });
    });

    it('keeps a session whose agent answers in time', async () => {
      relay = await startRelay(testOptions({ timeouts: { messageTimeoutMs: 200 } }));
      track(await connectAgent(relay, { echo: true }));
      const { client } = await openSession(relay);
      track(client);
      client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      for (let i = 0; i < 4; i++) {
        assert.equal((await client.next()).t, 'msg');
        await new Promise((r) => setTimeout(r, 100));
        client.send({ t: 'msg', data: 'AAAA' });
      }
      assert.equal((await client.next()).t, 'msg');
    });

    it('ends a session at its lifetime', async () => {
      relay = await startRelay(testOptions({ timeouts: { sessionLifetimeMs: 300 } }));
      track(await connectAgent(relay, { echo: true }));
      const { client } = await openSession(relay);
      track(client);
      const err = await expectError(client, 'SESSION_EXPIRED');
      assert.match(err.message as string, /time limit/);
      assert.equal(relay.stats().sessions, 0);
    });
  });

  describe('bad input', () => {
    it('closes only the connection that sends a frame over 64 KiB (1009); another session keeps working', async () => {
      relay = await startRelay(testOptions());
      const agent = track(await connectAgent(relay, { echo: true }));
      const good = await openSession(relay);
      track(good.client);
      const bad = await openSession(relay);
      track(bad.client);
      bad.client.send({ t: 'msg', data: 'A'.repeat(70_000), kid: 'k', wk: 'AAAA' });
      assert.equal((await bad.client.closed).code, 1009);
      good.client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      assert.deepEqual(await good.client.next(), { t: 'msg', data: 'AAAA' });
      assert.equal(agent.ws.readyState, WebSocket.OPEN);
    });

    it('survives garbage from clients: each sender is closed with BAD_FRAME/1008 (or 1007), the relay keeps serving', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay, { echo: true }));
      const garbage: (string | Buffer)[] = [
        randomBytes(200),
        'not json',
        '',
        '{',
        'null',
        '[]',
        '"open"',
        '1e999999',
        '{"t":"open","challenge":1e308,"nonce":-1e308}',
        '{"t":"open","challenge":123456789012345678901234567890,"nonce":"AA"}',
        '{"t":"open","challenge":"AA","nonce":"AA","__proto__":{"admin":true}}',
        '{"t":"msg","data":"AA","constructor":{"prototype":{"admin":true}}}',
        '{"t":{"toString":"x"}}',
        '{"t":"__proto__"}',
        '{"t":"hello","agent":"x","bundle":{}}',
        `{"t":"msg","data":"${'A'.repeat(60_000)}"}`,
        '['.repeat(30_000),
        '{"t":"open","challenge":"AA","nonce":"AA"}{"t":"open"}',
        '\u0000\u0001\u0002',
      ];
      for (const g of garbage) {
        const c = track(connectClient(relay));
        await c.next();
        if (typeof g === 'string') c.ws.send(g);
        else c.ws.send(g, { binary: true });
        const frame = await c.next();
        assert.deepEqual([frame.t, frame.code], ['error', 'BAD_FRAME'], String(g).slice(0, 40));
        assert.equal((await c.closed).code, 1008);
      }
      // Invalid UTF-8 in a text frame: ws refuses it (1007).
      const c = track(connectClient(relay));
      await c.next();
      c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      assert.equal((await c.closed).code, 1007);
      assert.equal(({} as Record<string, unknown>)['admin'], undefined);
      await roundTrip(relay);
      assert.equal((await fetch(`${relay.url.replace('ws', 'http')}/healthz`)).status, 200);
    });

    it('a client sending msg before a valid open is closed with BAD_FRAME', async () => {
      relay = await startRelay(testOptions());
      track(await connectAgent(relay, { echo: true }));
      const c = track(connectClient(relay));
      await c.next();
      c.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      await expectError(c, 'BAD_FRAME');
      assert.equal((await c.closed).code, 1008);
    });

    it('survives garbage from an agent: only that agent is closed and its sessions hear AGENT_OFFLINE', async () => {
      relay = await startRelay(testOptions());
      const healthy = track(await connectAgent(relay, { id: 'healthy', echo: true }));
      for (const g of ['{"t":"msg","sid":"short","data":"AA"}', '{"__proto__":{"x":1},"t":"bundle"}', 'garbage', '{"t":"hello","agent":"again","bundle":{"payload":"AA","sig":"AA","signingKey":"AA"}}']) {
        const bad = track(await connectAgent(relay, { id: `bad-${b64u(3).replace(/[^A-Za-z0-9]/g, 'x')}` }));
        // Make sure this agent holds a session, then send the garbage.
        let session: { client: Peer; opened: Frame } | undefined;
        for (let i = 0; i < 6 && !session; i++) {
          const s = await openSession(relay);
          track(s.client);
          s.client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
          if (await bad.next(300).then(() => true, () => false)) session = s;
        }
        assert.ok(session, 'no session landed on the bad agent');
        bad.send(g);
        assert.equal((await bad.closed).code, 1008);
        await expectError(session.client, 'AGENT_OFFLINE');
      }
      const binary = track(await connectAgent(relay, { id: 'binary' }));
      binary.ws.send(randomBytes(64), { binary: true });
      assert.equal((await binary.closed).code, 1008);
      assert.equal(healthy.ws.readyState, WebSocket.OPEN);
      await roundTrip(relay);
    });
  });

  describe('rate limits', () => {
    it('tells an address that opens connections too fast RATE_LIMITED', async () => {
      relay = await startRelay(testOptions({ limits: { connectionsPerAddress: { perSecond: 0.5, burst: 3 } } }));
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = track(connectClient(relay));
        const f = await c.next();
        codes.push(f.t === 'error' ? (f.code as string) : f.t);
      }
      assert.deepEqual(codes, ['pow', 'pow', 'pow', 'RATE_LIMITED', 'RATE_LIMITED']);
    });

    it('tells a client that sends frames too fast RATE_LIMITED', async () => {
      relay = await startRelay(testOptions({ limits: { framesPerAddress: { perSecond: 1, burst: 3 } } }));
      track(await connectAgent(relay, { echo: true }));
      const { client } = await openSession(relay);
      track(client);
      client.send({ t: 'msg', data: 'AAAA', kid: 'k', wk: 'AAAA' });
      for (let i = 0; i < 5; i++) client.send({ t: 'msg', data: 'AAAA' });
      let f: Frame;
      do f = await client.next();
      while (f.t === 'msg');
      assert.deepEqual([f.t, f.code], ['error', 'RATE_LIMITED']);
      assert.equal((await client.closed).code, 1013);
    });

    it('refuses connections over the per-address cap with 429', async () => {
      relay = await startRelay(testOptions({ limits: { maxConnectionsPerAddress: 2 } }));
      const a = track(connectClient(relay));
      const b = track(connectClient(relay));
      await Promise.all([a.opened, b.opened]);
      assert.equal(await rejectedStatus(track(connectClient(relay))), 429);
    });
  });

  describe('heartbeat', () => {
    it('terminates a peer that stops answering pings and keeps one that answers', async () => {
      relay = await startRelay(testOptions({ timeouts: { heartbeatIntervalMs: 100 } }));
      const deaf = track(await connectAgent(relay, { id: 'deaf', ws: { autoPong: false } }));
      const lively = track(await connectAgent(relay, { id: 'lively' }));
      const start = performance.now();
      const { code } = await deaf.closed;
      assert.equal(code, 1006, 'terminated, not closed');
      assert.ok(performance.now() - start < 1_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(lively.ws.readyState, WebSocket.OPEN);
      assert.equal(relay.stats().agents, 1);
    });
  });

  describe('onFrame', () => {
    it('sees every frame in both directions; `data` only travels client→agent→client', async () => {
      const seen: { direction: FrameDirection; text: string }[] = [];
      relay = await startRelay(testOptions({ onFrame: (direction, text) => seen.push({ direction, text }) }));
      track(await connectAgent(relay, { echo: true }));
      await roundTrip(relay);
      await waitFor(() => seen.some((s) => s.direction === 'to-agent' && s.text.includes('"close"')), 3_000, 5);
      const kinds = seen.map((s) => `${s.direction}:${(JSON.parse(s.text) as Frame).t}`);
      for (const k of ['from-agent:hello', 'to-client:pow', 'from-client:open', 'to-client:opened', 'from-client:msg', 'to-agent:msg', 'from-agent:msg', 'to-client:msg', 'to-agent:close']) {
        assert.ok(kinds.includes(k), `${k} in ${kinds.join(' ')}`);
      }
    });
  });

  describe('#close()', () => {
    it('closes every connection with 1001 and stops listening', async () => {
      relay = await startRelay(testOptions());
      const agent = await connectAgent(relay);
      const { client } = await openSession(relay);
      await relay.close();
      assert.equal((await agent.closed).code, 1001);
      assert.equal((await client.closed).code, 1001);
      await assert.rejects(fetch(`${relay.url.replace('ws', 'http')}/healthz`));
    });
  });

  describe('configuration', () => {
    it('names the path of every bad value and how to fix it', () => {
      let error: unknown;
      try {
        parseConfig({
          tenants: [{ id: 'Bad Tenant!', secretHash: hashTenantSecret('x') }, { id: 'acme' }],
          limits: { maxConnections: -5 },
          timeouts: { heartbeatIntervalMs: 120_000 },
        });
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof ConfigError);
      const text = error.issues.join('\n');
      assert.match(text, /^tenants\[0\]\.id: .*fix: lower-case letters/m);
      assert.match(text, /^tenants\[1\]\.secretHash: is required .*fix: "sha256:"/m);
      assert.match(text, /^limits\.maxConnections: .*fix: a positive whole number/m);
      assert.match(text, /^timeouts\.heartbeatIntervalMs: .*60000/m);
      assert.equal(error.issues.length, 4);
    });

    it('refuses unknown keys, duplicate tenants and bad origins', () => {
      assert.throws(
        () =>
          parseConfig({
            tenants: [
              { id: 'acme', secretHash: hashTenantSecret('x'), allowedOrigins: ['https://example.com'] },
              { id: 'acme', secretHash: hashTenantSecret('y') },
            ],
            limts: {},
          }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          const text = err.issues.join('\n');
          assert.match(text, /unknown key "limts"/);
          assert.match(text, /tenants\[0\]\.allowedOrigins\[0\]: .*chrome-extension:\/\//);
          assert.match(text, /tenants\[1\]\.id: duplicate tenant id "acme"/);
          return true;
        },
      );
    });

    it('applies documented defaults', () => {
      const config = parseConfig({});
      assert.equal(config.listen.port, 8443);
      assert.equal(config.timeouts.heartbeatIntervalMs, 30_000);
      assert.equal(config.timeouts.messageTimeoutMs, 120_000);
      assert.equal(config.timeouts.sessionLifetimeMs, 900_000);
      assert.equal(config.pow.difficulty, 14);
    });

    it('startRelay() rejects a bad config without listening', async () => {
      await assert.rejects(startRelay({ limits: { maxConnections: -1 } }), ConfigError);
    });

    it('unlatch-relay exits non-zero and prints the path of the bad value', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'unlatch-relay-'));
      try {
        const file = join(dir, 'relay.yaml');
        await writeFile(file, 'tenants:\n  - id: acme\nlimits: { maxConnections: -1 }\n');
        const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'relay/cli.ts', '--config', file], {
            cwd: new URL('../..', import.meta.url),
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (c) => resolve({ code: c, stderr }));
        });
        assert.equal(code, 2);
        assert.match(stderr, /tenants\[0\]\.secretHash: is required/);
        assert.match(stderr, /limits\.maxConnections/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
