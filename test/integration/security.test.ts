/**
 * What the relay can see and do: nothing readable crosses it, and nothing it replays, reorders
 * or flips gets past the agent. What the agent logs: never a password or a code.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { WebSocketLike } from '../../protocol/client.ts';
import { ClientSession } from '../../protocol/client.ts';
import { expectOp, resetPassword } from '../support/flows.ts';
import { testPki } from '../support/pki.ts';
import { startStack, TEST_TENANT, type Stack } from '../support/stack.ts';

/** Every way a secret could show up in a text frame. */
function encodings(secret: string): string[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const utf16 = Buffer.from(secret, 'utf16le');
  const out = new Set<string>([secret]);
  for (const bytes of [utf8, utf16]) {
    out.add(bytes.toString('hex'));
    out.add(bytes.toString('hex').toUpperCase());
    // base64 depends on alignment: try the secret at each offset within a 3-byte group and keep
    // only the characters that don't depend on the neighbours.
    for (let pad = 0; pad < 3; pad++) {
      for (const enc of ['base64', 'base64url'] as const) {
        const text = Buffer.concat([Buffer.alloc(pad), bytes]).toString(enc).replace(/=+$/, '');
        const start = Math.ceil((pad * 4) / 3);
        const end = Math.floor(((pad + bytes.length) * 4) / 3);
        if (end - start >= 8) out.add(text.slice(start, end));
      }
    }
  }
  return [...out];
}

/** A socket that records what the client sends and lets a test inject frames of its own. */
class TappedSocket {
  readonly sent: string[] = [];
  constructor(readonly ws: WebSocket) {}
  static factory(tapped: TappedSocket[]) {
    const ca = testPki().caPem;
    return (url: string): WebSocketLike => {
      const ws = new WebSocket(url, { ca, perMessageDeflate: false });
      const tap = new TappedSocket(ws);
      tapped.push(tap);
      const send = ws.send.bind(ws);
      (ws as unknown as { send: (d: string) => void }).send = (data: string) => {
        tap.sent.push(data);
        send(data);
      };
      return ws as unknown as WebSocketLike;
    };
  }
  closed(): Promise<void> {
    return new Promise((resolve) => (this.ws.readyState === WebSocket.CLOSED ? resolve() : this.ws.once('close', () => resolve())));
  }
}

describe('Security of the writeback path', function () {
  this.timeout(120_000);
  let stack: Stack;
  const frames: string[] = [];

  before(async () => {
    stack = await startStack({ onFrame: (_direction, text) => frames.push(text) });
  });
  after(async () => {
    await stack?.stop();
  });

  async function tappedSession(): Promise<{ session: ClientSession; tap: TappedSocket }> {
    const taps: TappedSocket[] = [];
    const session = await ClientSession.open({ relayUrl: stack.relayUrl, tenant: TEST_TENANT, pin: stack.pin, connect: TappedSocket.factory(taps) });
    return { session, tap: taps[0]! };
  }

  it('lets no password, code, user name or e-mail address cross the relay, in any encoding', async () => {
    const user = await stack.directory.createUser('sniffme', { state: 'locked' });
    const newPassword = 'Unseen-Pässword-2026';
    frames.length = 0;
    const logStart = stack.agentLogs.length;
    const session = await stack.openSession();
    const since = stack.mail.messages.length;
    expectOp(await resetPassword(session, stack.mail, user.sam, user.mail as string, newPassword), 'done');
    session.close();
    const code = /\b(\d{8})\b/.exec(stack.mail.messages[since]!.text)![1]!;
    assert.ok(frames.length >= 8, `recorded ${frames.length} frames`);
    const secrets = { newPassword, code, user: user.sam, upn: user.upn, mail: user.mail as string };
    for (const [what, secret] of Object.entries(secrets)) {
      for (const encoded of encodings(secret)) {
        for (const frame of frames) {
          assert.ok(!frame.includes(encoded), `${what} appears in a relay frame as ${encoded}`);
        }
      }
    }
    // The agent's own log of that reset: no password, no code.
    const logs = stack.agentLogs.slice(logStart).join('');
    assert.ok(logs.includes('31002'), 'the reset was logged as event 31002');
    for (const secret of [newPassword, code, user.password]) {
      for (const encoded of encodings(secret)) assert.ok(!logs.includes(encoded), `agent log holds a secret (${encoded})`);
    }
    assert.equal((await stack.directory.kinit(user.upn, newPassword)).ok, true);
  });

  it('rejects a replayed frame: the session ends and the step does not run twice', async () => {
    const user = await stack.directory.createUser('replay', { state: 'normal' });
    const { session, tap } = await tappedSession();
    const challenge = expectOp(await session.request({ op: 'start', action: 'reset', user: user.sam }), 'challenge');
    const since = stack.mail.messages.length;
    expectOp(await session.request({ op: 'gate.send', gate: challenge.gates[0]!.id }), 'gate.sent');
    await stack.mail.waitFor(user.mail as string, { since });
    const sendFrame = tap.sent.at(-1)!;
    tap.ws.send(sendFrame);
    await tap.closed();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stack.mail.messages.slice(since).filter((m) => m.to.includes(user.mail!.toLowerCase())).length, 1);
  });

  it('rejects reordered frames', async () => {
    const user = await stack.directory.createUser('reorder', { state: 'normal' });
    const { session, tap } = await tappedSession();
    // Seal two messages but deliver only the second: the agent expects the first.
    const first = await (session as unknown as { channel: { seal(m: unknown): Promise<string> } }).channel.seal({ op: 'start', action: 'reset', user: user.sam });
    const second = await (session as unknown as { channel: { seal(m: unknown): Promise<string> } }).channel.seal({ op: 'unlock' });
    assert.notEqual(first, second);
    const wrapped = (session as unknown as { wrapped: { kid: string; wk: string } }).wrapped;
    tap.ws.send(JSON.stringify({ t: 'msg', data: second, ...wrapped }));
    await tap.closed();
  });

  it('rejects a bit-flipped frame', async () => {
    const { session, tap } = await tappedSession();
    const sealed = await (session as unknown as { channel: { seal(m: unknown): Promise<string> } }).channel.seal({ op: 'start', action: 'reset', user: 'alice' });
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[20] = (bytes[20] as number) ^ 0x01;
    const wrapped = (session as unknown as { wrapped: { kid: string; wk: string } }).wrapped;
    tap.ws.send(JSON.stringify({ t: 'msg', data: bytes.toString('base64url'), ...wrapped }));
    await tap.closed();
  });

  it('survives garbage from a client: relay and agent keep serving', async () => {
    const garbage: Array<string | Buffer> = [
      Buffer.from([0, 1, 2, 3, 255]),
      'not json',
      '{"t":"msg"}',
      '{"t":"open","challenge":1}',
      '{"__proto__":{"polluted":true},"t":"msg","data":"AAAA"}',
      JSON.stringify({ t: 'msg', data: 'A'.repeat(100), kid: 'x'.repeat(500), wk: '!!' }),
      '[]',
      'null',
    ];
    for (const g of garbage) {
      const ws = new WebSocket(`${stack.relayUrl}/v1/client?tenant=${TEST_TENANT}`, { ca: testPki().caPem });
      await new Promise<void>((resolve) => ws.once('open', () => resolve()));
      ws.send(g);
      await new Promise<void>((resolve) => ws.once('close', () => resolve()));
    }
    // A session whose frames are garbage after a valid open.
    const { session, tap } = await tappedSession();
    const wrapped = (session as unknown as { wrapped: { kid: string; wk: string } }).wrapped;
    tap.ws.send(JSON.stringify({ t: 'msg', data: 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB', ...wrapped }));
    await tap.closed();
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    const user = await stack.directory.createUser('aftergarbage', { state: 'normal' });
    const s2 = await stack.openSession();
    expectOp(await resetPassword(s2, stack.mail, user.sam, user.mail as string, 'Still-Serving-2026'), 'done');
    s2.close();
  });

  it('refuses to talk to an agent whose signing key does not match the pin', async () => {
    await assert.rejects(stack.openSession({ pin: 'A'.repeat(43) }), { code: 'KEY_PIN_MISMATCH' });
    await assert.rejects(stack.openSession({ pin: undefined }), { code: 'KEY_PIN_MISSING' });
  });
});

describe('Agent authentication at the relay', function () {
  this.timeout(60_000);
  it('refuses an agent with a wrong tenant secret, and the agent reports it as event 31032', async () => {
    const { startAgent } = await import('../../agent/agent.ts');
    const { createLogger } = await import('../../agent/log.ts');
    const stack = await startStack();
    const logs: string[] = [];
    process.env['UNLATCH_TEST_WRONG_SECRET'] = 'c'.repeat(43);
    const impostor = await startAgent(
      { ...stack.agentConfig, agentId: 'impostor', relay: { ...stack.agentConfig.relay, secret: { env: 'UNLATCH_TEST_WRONG_SECRET' } } },
      { logger: createLogger('info', { write: (l: string) => void logs.push(l) }) },
    );
    try {
      const deadline = Date.now() + 5000;
      while (!logs.some((l) => l.includes('"event":31032')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(logs.some((l) => l.includes('"event":31032')), 'no RelayAuthFailed event');
      assert.equal(impostor.link.isOpen, false);
      assert.ok(!logs.join('').includes('c'.repeat(43)), 'the secret was logged');
      // The real agent is still the only one serving.
      const session = await stack.openSession();
      session.close();
    } finally {
      await impostor.stop();
      await stack.stop();
    }
  });
});
