/**
 * `unlatch-client`: the protocol client the extension uses, from a terminal. Interactive by
 * default; `--json` prints one JSON object per step and reads answers (codes, passwords) as
 * lines on stdin, for scripts and smoke tests. Secrets never come from argv.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ClientSession, type WebSocketLike } from '../protocol/client.ts';
import { ERROR_CODES, UnlatchError } from '../protocol/errors.ts';
import { ACTIONS, type Action, type AgentMessage } from '../protocol/messages.ts';

const USAGE = `Usage: unlatch-client <reset|unlock|change> [options]

Options:
  --user ID         sAMAccountName, UPN or e-mail address (asked for when missing)
  --relay URL       relay base URL (or $UNLATCH_RELAY), e.g. wss://relay.example.com
  --tenant ID       tenant (or $UNLATCH_TENANT)
  --pin PIN         the agent's signing-key pin (or $UNLATCH_PIN)
  --ca FILE         extra CA certificate to trust for the relay
  --json            machine-readable: one JSON line per step; answers as lines on stdin
`;

interface Io {
  ask(question: string, secret?: boolean): Promise<string>;
  step(name: string, detail: Record<string, unknown>, human: string): void;
  close(): void;
}

function interactiveIo(): Io {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  let muted = false;
  const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput?.bind(rl);
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (!muted || s.includes('\n')) write?.(muted ? '\n' : s);
  };
  return {
    ask: (question, secret = false) =>
      new Promise((resolve) => {
        rl.question(question, (answer) => {
          muted = false;
          resolve(answer.trim());
        });
        muted = secret;
      }),
    step: (_name, _detail, human) => process.stdout.write(`${human}\n`),
    close: () => rl.close(),
  };
}

/** JSON lines out; each answer is the next line of stdin. */
function jsonIo(): Io {
  const rl = createInterface({ input: process.stdin, terminal: false });
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  rl.on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line.replace(/\r$/, ''));
    else lines.push(line.replace(/\r$/, ''));
  });
  rl.on('close', () => waiters.splice(0).forEach((w) => w('')));
  return {
    ask: (question) => {
      process.stdout.write(`${JSON.stringify({ step: 'input', prompt: question.replace(/:\s*$/, '') })}\n`);
      const next = lines.shift();
      return next !== undefined ? Promise.resolve(next) : new Promise((resolve) => waiters.push(resolve));
    },
    step: (name, detail) => process.stdout.write(`${JSON.stringify({ step: name, ...detail })}\n`),
    close: () => rl.close(),
  };
}

/** Throws the agent's error answers, so the flow below reads as the happy path. */
function expect<K extends AgentMessage['op']>(answer: AgentMessage, op: K): Extract<AgentMessage, { op: K }> {
  if (answer.op === 'error') throw new UnlatchError(answer.code, answer.message, answer.reason);
  if (answer.op !== op) throw new UnlatchError('PROTOCOL_ERROR');
  return answer as Extract<AgentMessage, { op: K }>;
}

async function run(action: Action, io: Io, o: { relay: string; tenant: string; pin: string | undefined; ca: string | undefined; user: string | undefined }) {
  const connect = (url: string) => new WebSocket(url, { ...(o.ca ? { ca: o.ca } : {}), perMessageDeflate: false }) as unknown as WebSocketLike;
  io.step('connecting', { relay: o.relay, tenant: o.tenant }, `Connecting to ${o.relay} …`);
  const session = await ClientSession.open({ relayUrl: o.relay, tenant: o.tenant, pin: o.pin, connect });
  try {
    const user = o.user ?? (await io.ask('User name or e-mail: '));
    const challenge = expect(await session.request({ op: 'start', action, user }), 'challenge');
    const p = challenge.policy;
    io.step(
      'challenge',
      { gates: challenge.gates, required: challenge.required, policy: p },
      `Password rules: at least ${p.minLength} characters${p.complexity ? ', mixed character kinds' : ''}${p.historyLength ? `, not one of your last ${p.historyLength}` : ''}.`,
    );
    let remaining = challenge.required;
    for (const gate of challenge.gates) {
      if (remaining === 0) break;
      expect(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
      io.step('gate.sent', { gate: gate.id, method: gate.method, hint: gate.hint }, `A code was sent to ${gate.hint}.`);
      const code = await io.ask('Code: ');
      remaining = expect(await session.request({ op: 'gate.verify', gate: gate.id, code }), 'gate.passed').remaining;
      io.step('gate.passed', { gate: gate.id, remaining }, 'Verified.');
    }
    let answer: AgentMessage;
    if (action === 'unlock') {
      answer = await session.request({ op: 'unlock' });
    } else if (action === 'reset') {
      const pw = await io.ask('New password: ', true);
      answer = await session.request({ op: 'reset', newPassword: await session.sealPassword('newPassword', pw) });
    } else {
      const old = await io.ask('Current password: ', true);
      const pw = await io.ask('New password: ', true);
      answer = await session.request({
        op: 'change',
        oldPassword: await session.sealPassword('oldPassword', old),
        newPassword: await session.sealPassword('newPassword', pw),
      });
    }
    expect(answer, 'done');
    const what = { reset: 'Your password was reset and your account unlocked.', unlock: 'Your account is unlocked.', change: 'Your password was changed.' }[action];
    io.step('done', { action }, what);
  } finally {
    session.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      relay: { type: 'string' },
      tenant: { type: 'string' },
      pin: { type: 'string' },
      ca: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const action = positionals[0] as Action | undefined;
  if (values.help || !action || !(ACTIONS as readonly string[]).includes(action)) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const relay = values.relay ?? process.env['UNLATCH_RELAY'];
  const tenant = values.tenant ?? process.env['UNLATCH_TENANT'];
  if (!relay || !tenant) {
    process.stderr.write(`unlatch-client: --relay and --tenant (or UNLATCH_RELAY, UNLATCH_TENANT) are required\n`);
    return 2;
  }
  const io = values.json ? jsonIo() : interactiveIo();
  try {
    await run(action, io, {
      relay,
      tenant,
      pin: values.pin ?? process.env['UNLATCH_PIN'],
      ca: values.ca ? readFileSync(values.ca, 'utf8') : undefined,
      user: values.user,
    });
    return 0;
  } catch (err) {
    const e = err instanceof UnlatchError ? err : new UnlatchError('INTERNAL', ERROR_CODES.INTERNAL, undefined, { cause: err });
    io.step('error', { code: e.code, ...(e.reason ? { reason: e.reason } : {}), message: e.message }, `${e.message} (${e.code})`);
    return 1;
  } finally {
    io.close();
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
