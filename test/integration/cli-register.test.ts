/**
 * `unlatch-client register` and the other methods from a script: the built bin as a real
 * process, answers as lines on stdin, read where a person would read them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { totpCode } from '../support/gates.ts';
import { testPki } from '../support/pki.ts';
import { startStack, type Stack } from '../support/stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('unlatch-client register --json', function () {
  this.timeout(60_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack({ agent: { gates: { sms: { enabled: true }, totp: { enabled: true }, questions: { enabled: true, hashCost: 12 } } } });
  });
  after(async () => {
    await stack?.stop();
  });

  async function runClient(args: string[], answer: (prompt: string, lines: Record<string, unknown>[]) => Promise<string>) {
    const child = spawn(process.execPath, ['bin/unlatch-client.js', ...args, '--json', '--relay', stack.relayUrl, '--tenant', stack.tenant, '--ca', testPki().files.ca], {
      cwd: ROOT,
      env: { ...process.env, UNLATCH_PIN: stack.pin },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      if (parsed['step'] === 'input') void answer(String(parsed['prompt']), lines).then((a) => child.stdin.write(`${a}\n`));
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    return { code, lines };
  }

  it('registers a phone, an authenticator app and questions, then unlocks with the app', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('clireg'), { mail: null });
    const smsSince = stack.sms.texts.length;
    let uri = '';
    const reg = await runClient(['register', '--user', user.sam, '--add', 'sms', '--phone', '+1 202 555 0142', '--add', 'totp', '--add', 'questions'], async (prompt, lines) => {
      if (prompt.startsWith('Current password')) return user.password;
      if (prompt === 'Code') return stack.sms.codeFor('+12025550142', { since: smsSince });
      if (prompt.startsWith('Code from your authenticator')) {
        uri = String(lines.find((l) => l['step'] === 'totp')?.['otpauthUri']);
        return totpCode(uri);
      }
      const n = /^Question (\d) of/.exec(prompt);
      if (n) return String(n[1]);
      if (prompt.startsWith('Answer')) return 'an answer of mine ' + prompt.length;
      throw new Error(`unexpected prompt ${prompt}`);
    });
    assert.equal(reg.code, 0, JSON.stringify(reg.lines));
    assert.deepEqual(reg.lines.at(-1), { step: 'done', action: 'register', complete: true });

    const reset = await runClient(['unlock', '--user', user.sam, '--method', 'totp'], async (prompt) => {
      if (prompt.startsWith('Code from your authenticator')) return totpCode(uri, Date.now() + 30_000);
      throw new Error(`unexpected prompt ${prompt}`);
    });
    assert.equal(reset.code, 0, JSON.stringify(reset.lines));
    assert.deepEqual(reset.lines.at(-1), { step: 'done', action: 'unlock' });
  });

  it('status: asks someone without any method to register', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('clistat'), { mail: null });
    const { code, lines } = await runClient(['status', '--user', user.sam], async () => '');
    assert.equal(code, 0);
    assert.deepEqual(lines.at(-1), { step: 'register.status', nudge: true, reason: 'register' });
  });

  it('register with a wrong password exits 1 with INVALID_CREDENTIALS', async () => {
    const user = await stack.directory.createUser(stack.directory.uniqueName('clibad'));
    const { code, lines } = await runClient(['register', '--user', user.sam], async () => 'Not-The-Password-9');
    assert.equal(code, 1);
    assert.equal(lines.at(-1)?.['code'], 'INVALID_CREDENTIALS');
  });
});
