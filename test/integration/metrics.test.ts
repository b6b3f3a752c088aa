/**
 * /metrics as a Prometheus server scrapes it: a real relay on port 0 driven by real ws
 * agents and clients, and the agent's metrics server fed by the agent's own events; the text is
 * read with a real Prometheus text-format parser.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { EventLog } from '../../agent/events.ts';
import { createLogger } from '../../agent/log.ts';
import { AgentMetrics, startMetricsServer, type MetricsServer } from '../../agent/metrics.ts';
import type { SignedBundle } from '../../protocol/envelope.ts';
import { UnlatchError } from '../../protocol/errors.ts';
import { solvePow } from '../../protocol/pow.ts';
import { hashTenantSecret, startRelay, type Relay, type RelayOptions } from '../../relay/index.ts';
import { scrape } from '../support/prometheus.ts';
import { waitFor } from '../support/wait.ts';

const ACME_SECRET = randomBytes(32).toString('base64url');
const OTHER_SECRET = randomBytes(32).toString('base64url');
const b64u = (n = 32) => randomBytes(n).toString('base64url');

function bundle(): SignedBundle {
  return { payload: b64u(64), sig: b64u(64), signingKey: b64u(91) };
}

function options(overrides: RelayOptions = {}): RelayOptions {
  return {
    log: { level: 'silent' },
    tenants: [
      { id: 'acme', secretHash: hashTenantSecret(ACME_SECRET), allowNoOrigin: true },
      { id: 'other', secretHash: hashTenantSecret(OTHER_SECRET), allowNoOrigin: true },
    ],
    pow: { difficulty: 4, maxDifficulty: 8 },
    limits: { connectionsPerAddress: { perSecond: 1_000, burst: 1_000 }, framesPerAddress: { perSecond: 1_000, burst: 1_000 } },
    ...overrides,
  };
}

type Frame = Record<string, unknown> & { t: string };

/** A ws connection with an inbox. */
class Peer {
  private readonly inbox: Frame[] = [];
  private waiter: (() => void) | undefined;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.inbox.push(JSON.parse(data.toString()) as Frame);
      this.waiter?.();
    });
    ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }
  async next(): Promise<Frame> {
    const deadline = Date.now() + 5_000;
    while (this.inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no frame arrived');
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    return this.inbox.shift() as Frame;
  }
  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }
}

/** An agent that has said hello; answers every msg with the same data after `delayMs`. */
async function connectAgent(relay: Relay, tenant = 'acme', id = `agent-${b64u(4)}`, delayMs = 0): Promise<Peer> {
  const agent = new Peer(
    new WebSocket(`${relay.url}/v1/agent?tenant=${tenant}`, { headers: { authorization: `Bearer ${tenant === 'acme' ? ACME_SECRET : OTHER_SECRET}` } }),
  );
  await agent.opened;
  const before = relay.stats().tenants[tenant]?.agents ?? 0;
  agent.send({ t: 'hello', agent: id, bundle: bundle() });
  await waitFor(() => (relay.stats().tenants[tenant]?.agents ?? 0) > before);
  agent.ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString()) as Frame;
    if (f.t === 'msg') setTimeout(() => agent.ws.send(JSON.stringify({ t: 'msg', sid: f.sid, data: f.data })), delayMs);
  });
  return agent;
}

/** A client that has solved the proof of work and opened a session. */
async function openSession(relay: Relay, tenant = 'acme'): Promise<Peer> {
  const client = new Peer(new WebSocket(`${relay.url}/v1/client?tenant=${tenant}`));
  const pow = await client.next();
  assert.equal(pow.t, 'pow');
  client.send({ t: 'open', challenge: pow.challenge, nonce: await solvePow(pow.challenge as string, pow.difficulty as number) });
  const opened = await client.next();
  assert.equal(opened.t, 'opened', JSON.stringify(opened));
  return client;
}

describe('Metrics', function () {
  this.timeout(30_000);

  describe('relay GET /metrics', () => {
    const relays: Relay[] = [];
    const peers: Peer[] = [];
    const start = async (o: RelayOptions = {}) => {
      const relay = await startRelay(options(o));
      relays.push(relay);
      return relay;
    };
    const metricsUrl = (relay: Relay) => `${relay.url.replace(/^ws/, 'http')}/metrics`;
    afterEach(async () => {
      for (const p of peers.splice(0)) p.ws.terminate();
      await Promise.all(relays.splice(0).map((r) => r.close()));
    });

    it('serves every metric in Prometheus text format, zero at start, with no secret in it', async () => {
      const relay = await start();
      const res = await fetch(metricsUrl(relay));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const secret of [ACME_SECRET, OTHER_SECRET, hashTenantSecret(ACME_SECRET).slice(7)]) assert.ok(!text.includes(secret));
      const m = await scrape(metricsUrl(relay));
      for (const [name, type] of [
        ['unlatch_relay_sessions_opened_total', 'counter'],
        ['unlatch_relay_sessions_active', 'gauge'],
        ['unlatch_relay_agents_online', 'gauge'],
        ['unlatch_relay_frames_total', 'counter'],
        ['unlatch_relay_errors_total', 'counter'],
        ['unlatch_relay_connections_total', 'counter'],
        ['unlatch_relay_connections_closed_total', 'counter'],
        ['unlatch_relay_connections_open', 'gauge'],
        ['unlatch_relay_agent_connections_total', 'counter'],
        ['unlatch_relay_agent_auth_failures_total', 'counter'],
        ['unlatch_relay_agent_answer_seconds', 'histogram'],
        ['process_resident_memory_bytes', 'gauge'],
      ] as const) {
        assert.equal(m.family(name).type, type, name);
      }
      assert.ok(m.unparsed.every((line) => /^(nodejs|process)_/.test(line)), `NaN in our own metrics: ${m.unparsed.join('; ')}`);
      assert.deepEqual(m.labelValues('unlatch_relay_agents_online', 'tenant'), ['acme', 'other']);
      assert.equal(m.value('unlatch_relay_agents_online', { tenant: 'acme' }), 0);
      assert.equal(m.value('unlatch_relay_sessions_active', { tenant: 'acme' }), 0);
    });

    it('counts agents, sessions, frames and the agent\'s answer time as clients and an agent talk', async () => {
      const relay = await start();
      const agent = await connectAgent(relay, 'acme', 'dc-agent-1', 30);
      peers.push(agent);
      let m = await scrape(metricsUrl(relay));
      assert.equal(m.value('unlatch_relay_agents_online', { tenant: 'acme' }), 1);
      assert.equal(m.value('unlatch_relay_agent_connections_total', { tenant: 'acme' }), 1);
      assert.equal(m.value('unlatch_relay_connections_total', { kind: 'agent' }), 1);

      const client = await openSession(relay);
      peers.push(client);
      client.send({ t: 'msg', data: b64u(64), kid: 'k1', wk: b64u(384) });
      assert.equal((await client.next()).t, 'msg');
      client.send({ t: 'msg', data: b64u(64) });
      assert.equal((await client.next()).t, 'msg');

      m = await scrape(metricsUrl(relay));
      assert.equal(m.value('unlatch_relay_sessions_opened_total', { tenant: 'acme' }), 1);
      assert.equal(m.value('unlatch_relay_sessions_active', { tenant: 'acme' }), 1);
      assert.equal(m.value('unlatch_relay_connections_open', { kind: 'client' }), 1);
      assert.equal(m.value('unlatch_relay_frames_total', { tenant: 'acme', direction: 'from-client' }), 3); // open + 2 msg
      assert.equal(m.value('unlatch_relay_frames_total', { tenant: 'acme', direction: 'to-agent' }), 2);
      assert.equal(m.value('unlatch_relay_frames_total', { tenant: 'acme', direction: 'from-agent' }), 3); // hello + 2 msg
      assert.equal(m.value('unlatch_relay_frames_total', { tenant: 'acme', direction: 'to-client' }), 4); // pow, opened, 2 msg
      const answer = m.histogram('unlatch_relay_agent_answer_seconds', { tenant: 'acme' });
      assert.equal(answer?.count, 2);
      assert.ok((answer?.sum ?? 0) >= 0.05, `the agent took ≥ 2 × 30 ms, histogram sum ${answer?.sum}`);
      assert.equal(answer?.buckets['0.01'], 0);
      assert.equal(answer?.buckets['+Inf'], 2);

      client.ws.close(1000);
      await client.closed;
      await waitFor(async () => (await scrape(metricsUrl(relay))).value('unlatch_relay_sessions_active', { tenant: 'acme' }) === 0);
      m = await scrape(metricsUrl(relay));
      assert.equal(m.value('unlatch_relay_connections_closed_total', { kind: 'client', code: '1000' }), 1);
    });

    it('counts agent reconnects, refused secrets and relay errors by code, never under a made-up tenant', async () => {
      const relay = await start();
      const first = await connectAgent(relay, 'acme', 'dc-agent-1');
      first.ws.terminate();
      await waitFor(() => relay.stats().tenants['acme']?.agents === 0);
      peers.push(await connectAgent(relay, 'acme', 'dc-agent-1'));

      const wrong = new Peer(new WebSocket(`${relay.url}/v1/agent?tenant=acme`, { headers: { authorization: 'Bearer nope' } }));
      await assert.rejects(wrong.opened, /HTTP 401/);

      const offline = new Peer(new WebSocket(`${relay.url}/v1/client?tenant=other`));
      peers.push(offline);
      const pow = await offline.next();
      offline.send({ t: 'open', challenge: pow.challenge, nonce: await solvePow(pow.challenge as string, pow.difficulty as number) });
      assert.equal((await offline.next()).code, 'AGENT_OFFLINE');

      const madeUp = `t${b64u(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
      const stranger = new Peer(new WebSocket(`${relay.url}/v1/client?tenant=${madeUp}`));
      peers.push(stranger);
      assert.equal((await stranger.next()).code, 'UNKNOWN_TENANT');
      await stranger.closed;

      const m = await scrape(metricsUrl(relay));
      assert.equal(m.value('unlatch_relay_agent_connections_total', { tenant: 'acme' }), 2);
      assert.equal(m.value('unlatch_relay_agents_online', { tenant: 'acme' }), 1);
      assert.equal(m.value('unlatch_relay_agent_auth_failures_total', { tenant: 'acme' }), 1);
      assert.equal(m.value('unlatch_relay_errors_total', { tenant: 'other', code: 'AGENT_OFFLINE' }), 1);
      assert.equal(m.value('unlatch_relay_errors_total', { tenant: '(unknown)', code: 'UNKNOWN_TENANT' }), 1);
      assert.equal(m.value('unlatch_relay_connections_closed_total', { kind: 'agent', code: '1006' }), 1);
      for (const name of m.names.filter((n) => n.startsWith('unlatch_relay_'))) {
        for (const tenant of m.labelValues(name, 'tenant')) assert.ok(['acme', 'other', '(unknown)'].includes(tenant), `${name}: ${tenant}`);
      }
    });

    it('keeps each relay\'s numbers to itself, and can be turned off', async () => {
      const a = await start();
      const b = await start();
      const off = await start({ metrics: { enabled: false } });
      peers.push(await connectAgent(a, 'acme'));
      assert.equal((await scrape(metricsUrl(a))).value('unlatch_relay_agent_connections_total', { tenant: 'acme' }), 1);
      assert.equal((await scrape(metricsUrl(b))).value('unlatch_relay_agent_connections_total', { tenant: 'acme' }), 0);
      assert.equal((await fetch(metricsUrl(off))).status, 404);
      assert.equal((await fetch(`${metricsUrl(off).replace('/metrics', '/healthz')}`)).status, 200);
    });
  });

  describe('agent GET /metrics', () => {
    let server: MetricsServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('counts outcomes by action and code, codes sent, blocks and reconnects from the agent\'s events', async () => {
      let sessions = 3;
      const metrics = new AgentMetrics({ sessions: () => sessions, relayConnected: () => true });
      server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 });
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const events = new EventLog(createLogger('silent', { write: () => undefined }), (n, f) => metrics.onEvent(n, f));
      events.emit('RelayConnected', { relay: 'wss://relay' });
      events.emit('PasswordResetStart', { action: 'reset' });
      events.emit('PasswordResetStart', { action: 'unlock' });
      events.emit('GateCodeSent', { method: 'email' });
      events.emit('GateCodeSendFail', { method: 'email', error: 'connection refused' });
      events.emit('GateFailed', { method: 'email', result: 'wrong' });
      events.emit('GatePassed', { method: 'email' });
      events.emit('PasswordResetSuccess', {});
      events.emit('PasswordResetFail', { code: 'POLICY_VIOLATION', reason: 'history' });
      events.emit('ChangePasswordFail', { code: 'INVALID_CREDENTIALS' });
      events.emit('UnlockSuccess', {});
      events.emit('SelfServiceBlocked', { why: 'failures' });
      events.emit('RelayDisconnected', {});
      events.emit('RelayConnected', { relay: 'wss://relay' });

      let m = await scrape(server.url);
      assert.equal(m.value('unlatch_agent_outcomes_total', { action: 'reset', code: 'OK' }), 1);
      assert.equal(m.value('unlatch_agent_outcomes_total', { action: 'reset', code: 'POLICY_VIOLATION' }), 1);
      assert.equal(m.value('unlatch_agent_outcomes_total', { action: 'change', code: 'INVALID_CREDENTIALS' }), 1);
      assert.equal(m.value('unlatch_agent_outcomes_total', { action: 'unlock', code: 'OK' }), 1);
      assert.equal(m.value('unlatch_agent_outcomes_total', { action: 'gate', code: 'GATE_FAILED' }), 1);
      assert.equal(m.value('unlatch_agent_outcomes_total', { action: 'gate', code: 'OK' }), 1);
      assert.equal(m.value('unlatch_agent_sessions_started_total', { action: 'unlock' }), 1);
      assert.equal(m.value('unlatch_agent_codes_sent_total', { method: 'email', result: 'sent' }), 1);
      assert.equal(m.value('unlatch_agent_codes_sent_total', { method: 'email', result: 'failed' }), 1);
      assert.equal(m.value('unlatch_agent_self_service_blocked_total', { why: 'failures' }), 1);
      assert.equal(m.value('unlatch_agent_relay_reconnects_total'), 1);
      assert.equal(m.value('unlatch_agent_relay_connected'), 1);
      assert.equal(m.value('unlatch_agent_sessions'), 3);
      sessions = 0;
      m = await scrape(server.url);
      assert.equal(m.value('unlatch_agent_sessions'), 0);
      assert.equal((await fetch(server.url.replace('/metrics', '/'))).status, 404);
    });

    it('times directory operations by operation and result', async () => {
      const metrics = new AgentMetrics({ sessions: () => 0, relayConnected: () => false });
      server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 });
      const port = metrics.timeDirectory({
        async findUser(id: string) {
          await new Promise((r) => setTimeout(r, 20));
          return id === 'alice' ? { dn: 'CN=Alice' } : null;
        },
        async reset() {
          throw new UnlatchError('POLICY_VIOLATION', undefined, 'history');
        },
      });
      assert.deepEqual(await port.findUser('alice'), { dn: 'CN=Alice' });
      assert.equal(await port.findUser('bob'), null);
      await assert.rejects(port.reset(), (err: unknown) => err instanceof UnlatchError && err.code === 'POLICY_VIOLATION');
      const m = await scrape(server.url);
      const find = m.histogram('unlatch_agent_directory_operation_seconds', { operation: 'findUser', result: 'ok' });
      assert.equal(find?.count, 2);
      assert.ok((find?.sum ?? 0) >= 0.035, `sum ${find?.sum}`);
      assert.equal(m.histogram('unlatch_agent_directory_operation_seconds', { operation: 'reset', result: 'POLICY_VIOLATION' })?.count, 1);
    });
  });
});
