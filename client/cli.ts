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
import { ACTIONS, GATE_METHODS, type Action, type AgentMessage, type ClientMessage, type GateMethod, type GateView, type RegistrationView } from '../protocol/messages.ts';

const USAGE = `Usage: unlatch-client <reset|unlock|change> [options]
       unlatch-client register [--add METHOD]... [--remove ID] [--confirm] [options]
       unlatch-client status [options]

  reset, unlock, change   what the browser extension does at a sign-in page
  register                prove who you are with your current password, then show your
                          registration and add (sms, voice, email, totp, questions) or remove
                          methods; --confirm confirms it as it is ("looks good")
  status                  whether the organisation would ask this person to register

Options:
  --user ID         sAMAccountName, UPN or e-mail address (asked for when missing)
  --method LIST     reset/unlock: checks to prefer, in order, e.g. totp,email (default: as offered)
  --phone NUMBER    register --add sms|voice: the number (asked for when missing)
  --address EMAIL   register --add email: the address (asked for when missing)
  --locale TAG      language for security questions, e.g. de (default: $LANG)
  --relay URL       relay base URL (or $UNLATCH_RELAY), e.g. wss://relay.example.com
  --tenant ID       tenant (or $UNLATCH_TENANT)
  --pin PIN         the agent's signing-key pin (or $UNLATCH_PIN)
  --ca FILE         extra CA certificate to trust for the relay
  --json            machine-readable: one JSON line per step; answers as lines on stdin
`;

const COMMANDS = [...ACTIONS, 'register', 'status'] as const;
type Command = (typeof COMMANDS)[number];

interface Options {
  relay: string;
  tenant: string;
  pin: string | undefined;
  ca: string | undefined;
  user: string | undefined;
  methods: GateMethod[];
  locale: string | undefined;
  add: string[];
  remove: string[];
  confirm: boolean;
  phone: string | undefined;
  address: string | undefined;
  json: boolean;
}

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

async function open(io: Io, o: Options): Promise<ClientSession> {
  const connect = (url: string) => new WebSocket(url, { ...(o.ca ? { ca: o.ca } : {}), perMessageDeflate: false }) as unknown as WebSocketLike;
  io.step('connecting', { relay: o.relay, tenant: o.tenant }, `Connecting to ${o.relay} …`);
  return ClientSession.open({ relayUrl: o.relay, tenant: o.tenant, pin: o.pin, connect });
}

/** Picks the next check: the first offered one of the preferred methods, else the first offered; asks when interactive. */
async function chooseGate(io: Io, o: Options, offered: GateView[]): Promise<GateView> {
  for (const method of o.methods) {
    const hit = offered.find((g) => g.method === method);
    if (hit) return hit;
  }
  if (offered.length === 1 || o.json || o.methods.length) return offered[0] as GateView;
  offered.forEach((g, i) => io.step('option', { index: i + 1, method: g.method, hint: g.hint }, `  ${i + 1}. ${g.method} (${g.hint})`));
  const picked = Number(await io.ask(`Check to use [1-${offered.length}]: `));
  return offered[Number.isInteger(picked) && picked >= 1 && picked <= offered.length ? picked - 1 : 0] as GateView;
}

/** One check: send (or fetch the questions), ask the person, verify. Returns what is left. */
async function passGate(session: ClientSession, io: Io, gate: GateView): Promise<{ remaining: number; offered: string[] | undefined }> {
  const sent = expect(await session.request({ op: 'gate.send', gate: gate.id }), 'gate.sent');
  let answer: AgentMessage;
  if (gate.method === 'questions') {
    const questions = sent.questions ?? [];
    io.step('gate.sent', { gate: gate.id, method: gate.method, questions }, 'Answer your security questions.');
    const answers: string[] = [];
    for (const q of questions) answers.push(await io.ask(`Answer — ${q.text}: `, true));
    answer = await session.request({ op: 'gate.answer', gate: gate.id, answers });
  } else {
    const human = gate.method === 'totp' ? 'Open your authenticator app.' : `A code was sent to ${gate.hint}.`;
    io.step('gate.sent', { gate: gate.id, method: gate.method, hint: gate.hint }, human);
    const code = await io.ask(gate.method === 'totp' ? 'Code from your authenticator app: ' : 'Code: ');
    answer = await session.request({ op: 'gate.verify', gate: gate.id, code });
  }
  const passed = expect(answer, 'gate.passed');
  io.step('gate.passed', { gate: gate.id, remaining: passed.remaining }, 'Verified.');
  return { remaining: passed.remaining, offered: passed.offered };
}

async function run(action: Action, io: Io, o: Options) {
  const session = await open(io, o);
  try {
    const user = o.user ?? (await io.ask('User name or e-mail: '));
    const start: ClientMessage = { op: 'start', action, user, ...(o.locale ? { locale: o.locale } : {}) };
    const challenge = expect(await session.request(start), 'challenge');
    const p = challenge.policy;
    io.step(
      'challenge',
      { gates: challenge.gates, required: challenge.required, policy: p },
      `Password rules: at least ${p.minLength} characters${p.complexity ? ', mixed character kinds' : ''}${p.historyLength ? `, not one of your last ${p.historyLength}` : ''}.`,
    );
    let remaining = challenge.required;
    let offered = challenge.gates;
    while (remaining > 0 && offered.length > 0) {
      const gate = await chooseGate(io, o, offered);
      const result = await passGate(session, io, gate);
      remaining = result.remaining;
      const still = result.offered;
      offered = offered.filter((g) => g.id !== gate.id && (still === undefined || still.includes(g.id)));
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

function describeRegistration(r: RegistrationView): string {
  const lines = r.methods.map((m) => `  ${m.id}  ${m.method.padEnd(9)} ${m.hint}${m.source === 'directory' ? '  (from the directory)' : ''}`);
  if (r.questionsToRegister) lines.push(`  questions  ${r.questionsRegistered ? `${r.questionsRegistered} answered` : 'not set'}`);
  lines.push(
    r.complete ? `Enough to reset your password (${r.required} check${r.required > 1 ? 's' : ''} needed).` : `Not enough yet: ${r.required} different check${r.required > 1 ? 's are' : ' is'} needed. You can add: ${r.enabled.join(', ')}.`,
  );
  if (r.reconfirmDue) lines.push('Please confirm that this is still correct (--confirm), or change it.');
  return ['Your registration:', ...lines].join('\n');
}

async function register(io: Io, o: Options) {
  const session = await open(io, o);
  try {
    const user = o.user ?? (await io.ask('User name or e-mail: '));
    const password = await io.ask('Current password: ', true);
    let view = expect(
      await session.request({
        op: 'register.start',
        user,
        currentPassword: await session.sealPassword('oldPassword', password),
        ...(o.locale ? { locale: o.locale } : {}),
      }),
      'registration',
    );
    const show = (r: RegistrationView) => io.step('registration', { ...r, op: undefined }, describeRegistration(r));
    show(view);
    for (const id of o.remove) {
      view = expect(await session.request({ op: 'register.remove', id }), 'registration');
      io.step('removed', { id }, `Removed ${id}.`);
    }
    for (const method of o.add) {
      if (method === 'questions') {
        const answers: Array<{ question: string; answer: string }> = [];
        view.questions.forEach((q, i) => io.step('question', { index: i + 1, id: q.id, text: q.text }, `  ${i + 1}. ${q.text}`));
        while (answers.length < view.questionsToRegister) {
          const pick = await io.ask(`Question ${answers.length + 1} of ${view.questionsToRegister} (number or id): `);
          const q = view.questions[Number(pick) - 1] ?? view.questions.find((x) => x.id === pick);
          if (!q) throw new UnlatchError('REGISTRATION_INVALID', `There is no question "${pick}".`);
          answers.push({ question: q.id, answer: await io.ask(`Answer — ${q.text}: `, true) });
        }
        view = expect(await session.request({ op: 'register.add', method: 'questions', answers }), 'registration');
        io.step('added', { method }, 'Security questions saved.');
        continue;
      }
      let add: ClientMessage;
      if (method === 'sms' || method === 'voice') add = { op: 'register.add', method, phone: o.phone ?? (await io.ask('Phone number (with country code): ')) };
      else if (method === 'email') add = { op: 'register.add', method, address: o.address ?? (await io.ask('E-mail address: ')) };
      else if (method === 'totp') add = { op: 'register.add', method };
      else throw new UnlatchError('BAD_REQUEST', `Cannot register "${method}": use sms, voice, email, totp or questions.`);
      const pending = expect(await session.request(add), 'register.pending');
      if (pending.otpauthUri) {
        io.step('totp', { id: pending.id, otpauthUri: pending.otpauthUri }, `Add this to your authenticator app (as a QR code or by hand):\n  ${pending.otpauthUri}`);
      } else {
        io.step('register.pending', { id: pending.id, method: pending.method, hint: pending.hint }, `A code was sent to ${pending.hint}.`);
      }
      const code = await io.ask(method === 'totp' ? 'Code from your authenticator app: ' : 'Code: ');
      view = expect(await session.request({ op: 'register.verify', id: pending.id, code }), 'registration');
      io.step('added', { method }, `${method} registered.`);
    }
    if (o.confirm) {
      view = expect(await session.request({ op: 'register.confirm' }), 'registration');
      io.step('confirmed', {}, 'Confirmed.');
    }
    if (o.add.length || o.remove.length || o.confirm) show(view);
    io.step('done', { action: 'register', complete: view.complete }, view.complete ? 'Done.' : 'Done, but your registration is not complete yet.');
  } finally {
    session.close();
  }
}

async function status(io: Io, o: Options) {
  const session = await open(io, o);
  try {
    const user = o.user ?? (await io.ask('User name or e-mail: '));
    const answer = expect(await session.request({ op: 'register.status', user }), 'register.status');
    const human = answer.nudge ? (answer.reason === 'reconfirm' ? 'Please confirm your registration.' : 'Please register for self-service password reset.') : 'Nothing to do.';
    io.step('register.status', { nudge: answer.nudge, ...(answer.reason ? { reason: answer.reason } : {}) }, human);
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
      method: { type: 'string' },
      locale: { type: 'string' },
      add: { type: 'string', multiple: true },
      remove: { type: 'string', multiple: true },
      confirm: { type: 'boolean', default: false },
      phone: { type: 'string' },
      address: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const action = positionals[0] as Command | undefined;
  if (values.help || !action || !(COMMANDS as readonly string[]).includes(action)) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const relay = values.relay ?? process.env['UNLATCH_RELAY'];
  const tenant = values.tenant ?? process.env['UNLATCH_TENANT'];
  if (!relay || !tenant) {
    process.stderr.write(`unlatch-client: --relay and --tenant (or UNLATCH_RELAY, UNLATCH_TENANT) are required\n`);
    return 2;
  }
  const methods = (values.method ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  const unknown = methods.find((m) => !(GATE_METHODS as readonly string[]).includes(m));
  if (unknown) {
    process.stderr.write(`unlatch-client: --method: "${unknown}" is not one of ${GATE_METHODS.join(', ')}\n`);
    return 2;
  }
  const envLocale = process.env['LANG']?.split(/[._]/)[0]?.replace('_', '-');
  const locale = values.locale ?? (envLocale && /^[a-z]{2,3}$/.test(envLocale) ? envLocale : undefined);
  const io = values.json ? jsonIo() : interactiveIo();
  const options: Options = {
    relay,
    tenant,
    pin: values.pin ?? process.env['UNLATCH_PIN'],
    ca: values.ca ? readFileSync(values.ca, 'utf8') : undefined,
    user: values.user,
    methods: methods as GateMethod[],
    locale,
    add: values.add ?? [],
    remove: values.remove ?? [],
    confirm: values.confirm ?? false,
    phone: values.phone,
    address: values.address,
    json: values.json ?? false,
  };
  try {
    if (action === 'register') await register(io, options);
    else if (action === 'status') await status(io, options);
    else await run(action, io, options);
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
