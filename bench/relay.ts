/**
 * Relay benchmarks against a real `unlatch-relay` process:
 * - throughput of sealed 1 KiB messages client → relay → echoing agent → client, against a bare
 *   `ws` echo server (also its own process) with the same payload and concurrency;
 * - memory per idle client connection, from the relay process's RSS at 5,000 connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { secretHash } from '../agent/init.ts';
import { KeyRing } from '../agent/keys.ts';
import { solvePow } from '../protocol/pow.ts';

const CONCURRENCY = Number(process.env["UNLATCH_BENCH_CONCURRENCY"] ?? 32);
const PAYLOAD = randomBytes(1024).toString('base64url');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve(line));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

interface RelayProcess {
  url: string;
  pid: number;
  stop(): void;
  tenant: string;
  secret: string;
  bundle: string;
}

async function startRelayProcess(): Promise<RelayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'unlatch-bench-'));
  const secret = randomBytes(32).toString('base64url');
  const keys = await KeyRing.init({ dir: join(dir, 'keys'), tenant: 'bench', rotateDays: 180, graceDays: 7 });
  const port = await freePort();
  const unlimited = { perSecond: 1e9, burst: 1e9 };
  writeFileSync(
    join(dir, 'relay.yaml'),
    stringify({
      listen: { host: '127.0.0.1', port },
      log: { level: 'warn' },
      tenants: [{ id: 'bench', secretHash: secretHash(secret), allowNoOrigin: true }],
      pow: { difficulty: 0, maxDifficulty: 0 },
      limits: {
        maxConnections: 20_000,
        maxConnectionsPerAddress: 20_000,
        maxSessionsPerTenant: 20_000,
        connectionsPerAddress: unlimited,
        connectionsPerTenant: unlimited,
        framesPerAddress: unlimited,
        framesPerTenant: unlimited,
      },
    }),
  );
  const child = spawn(process.execPath, [...(process.env['UNLATCH_BENCH_PROFILE'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/relayprof'] : []), 'dist/unlatch-relay.mjs', '--config', join(dir, 'relay.yaml')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await firstLine(child);
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid as number,
    tenant: 'bench',
    secret,
    bundle: JSON.stringify(await keys.bundle()),
    stop() {
      child.kill(process.env['UNLATCH_BENCH_PROFILE'] ? 'SIGTERM' : 'SIGKILL'); // SIGTERM lets --cpu-prof write its file
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Frames that arrive with the upgrade response come before any later listener: buffer them. */
const inboxes = new WeakMap<WebSocket, { queue: string[]; waiters: Array<(s: string) => void> }>();

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const inbox = { queue: [] as string[], waiters: [] as Array<(s: string) => void> };
    inboxes.set(ws, inbox);
    ws.on('message', (d) => {
      const waiter = inbox.waiters.shift();
      if (waiter) waiter(d.toString());
      else inbox.queue.push(d.toString());
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  const inbox = inboxes.get(ws)!;
  const queued = inbox.queue.shift();
  return queued !== undefined ? Promise.resolve(queued) : new Promise((resolve) => inbox.waiters.push(resolve));
}

/** Opens a relay session: PoW (difficulty 0 here), open, first message with a key. */
async function relaySession(relay: RelayProcess): Promise<WebSocket> {
  const ws = await open(`${relay.url}/v1/client?tenant=${relay.tenant}`);
  const first = await nextMessage(ws);
  const pow = JSON.parse(first) as { t: string; challenge: string; difficulty: number };
  if (pow.t !== "pow") throw new Error(`relay answered ${first}`);
  ws.send(JSON.stringify({ t: 'open', challenge: pow.challenge, nonce: await solvePow(pow.challenge, pow.difficulty) }));
  const opened = JSON.parse(await nextMessage(ws)) as { t: string };
  if (opened.t !== 'opened') throw new Error(`relay answered ${JSON.stringify(opened)}`);
  ws.send(JSON.stringify({ t: 'msg', data: PAYLOAD, kid: 'bench', wk: randomBytes(384).toString('base64url') }));
  await nextMessage(ws);
  return ws;
}

/** Lock-step echo on every socket for `ms`; messages per second over all of them. */
async function pump(sockets: WebSocket[], frame: string, ms: number): Promise<number> {
  let count = 0;
  const deadline = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    sockets.map(async (ws) => {
      while (performance.now() < deadline) {
        const answer = nextMessage(ws);
        ws.send(frame);
        await answer;
        count++;
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

export async function benchThroughput(log: (s: string) => void): Promise<{ relay: number; direct: number; ratio: number }> {
  const relay = await startRelayProcess();
  const agent = spawn(process.execPath, ['--import', 'tsx', 'bench/echo-agent.ts', relay.url, relay.tenant, relay.secret, relay.bundle], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await firstLine(agent);
  const echo = spawn(process.execPath, ['--import', 'tsx', 'bench/echo-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const echoPort = (JSON.parse(await firstLine(echo)) as { port: number }).port;
  try {
    const viaRelay = await Promise.all(Array.from({ length: CONCURRENCY }, () => relaySession(relay)));
    const direct = await Promise.all(Array.from({ length: CONCURRENCY }, () => open(`ws://127.0.0.1:${echoPort}`)));
    const frame = JSON.stringify({ t: 'msg', data: PAYLOAD });
    // Warm up both paths, then alternate so drift on a shared machine hits both alike.
    await pump(viaRelay, frame, 500);
    await pump(direct, frame, 500);
    const r: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < 3; i++) {
      r.push(await pump(viaRelay, frame, 1500));
      d.push(await pump(direct, frame, 1500));
    }
    const relayRate = median(r);
    const directRate = median(d);
    log(`throughput: relay path ${Math.round(relayRate)} msg/s, direct ws echo ${Math.round(directRate)} msg/s (1 KiB, ${CONCURRENCY} in flight)`);
    [...viaRelay, ...direct].forEach((ws) => ws.terminate());
    return { relay: relayRate, direct: directRate, ratio: relayRate / directRate };
  } finally {
    agent.kill('SIGKILL');
    echo.kill('SIGKILL');
    relay.stop();
  }
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

export async function benchIdleConnections(log: (s: string) => void, count = 5000): Promise<number> {
  const relay = await startRelayProcess();
  const sockets: WebSocket[] = [];
  try {
    const connect = async (n: number) => {
      for (let i = 0; i < n; i += 250) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(250, n - i) }, async () => {
            const ws = await open(`${relay.url}/v1/client?tenant=${relay.tenant}`);
            await nextMessage(ws); // the PoW challenge: the connection is now idle, waiting for us
            return ws;
          }),
        );
        sockets.push(...batch);
      }
    };
    await connect(200); // warm up: the first connections pay for code paths and buffers once
    await new Promise((r) => setTimeout(r, 500));
    const before = rssKiB(relay.pid);
    await connect(count);
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssKiB(relay.pid);
    const perConnection = (after - before) / count;
    log(`idle connections: relay RSS ${before} KiB → ${after} KiB with ${count} more idle clients = ${perConnection.toFixed(1)} KiB each`);
    return perConnection;
  } finally {
    sockets.forEach((ws) => ws.terminate());
    relay.stop();
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}
