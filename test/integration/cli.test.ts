/**
 * The command-line tools as a person or a script runs them: built bins, real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '../support/stack.ts';
import { testPki } from '../support/pki.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('unlatch-client --json', function () {
  this.timeout(60_000);
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  /** Runs the client; answers each input prompt with `answer(prompt)`. Returns the JSON lines. */
  async function runClient(args: string[], answer: (prompt: string) => Promise<string>): Promise<{ code: number; lines: Record<string, unknown>[] }> {
    const child = spawn(process.execPath, ['bin/unlatch-client.js', ...args, '--json', '--relay', stack.relayUrl, '--tenant', stack.tenant, '--ca', testPki().files.ca], {
      cwd: ROOT,
      env: { ...process.env, UNLATCH_PIN: stack.pin },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines: Record<string, unknown>[] = [];
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      if (parsed['step'] === 'input') void answer(String(parsed['prompt'])).then((a) => child.stdin.write(`${a}\n`));
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    return { code, lines };
  }

  it('resets a locked user from a script, with the code read from the mail server', async () => {
    const user = await stack.directory.createUser('clilock', { state: 'locked' });
    const since = stack.mail.messages.length;
    const { code, lines } = await runClient(['reset', '--user', user.sam], async (prompt) =>
      prompt.startsWith('Code') ? stack.mail.codeFor(user.mail as string, { since }) : 'Cli-Reset-Pass-2026',
    );
    assert.equal(code, 0, JSON.stringify(lines));
    assert.deepEqual(lines.at(-1), { step: 'done', action: 'reset' });
    assert.ok(lines.some((l) => l['step'] === 'challenge'));
    assert.equal((await stack.directory.kinit(user.upn, 'Cli-Reset-Pass-2026')).ok, true);
  });

  it('exits 1 with the error code as JSON when the policy refuses the password', async () => {
    const user = await stack.directory.createUser('clishort', { state: 'normal' });
    const { code, lines } = await runClient(['change', '--user', user.sam], async (prompt) => (prompt.startsWith('Current') ? user.password : 'short'));
    assert.equal(code, 1);
    assert.deepEqual({ ...lines.at(-1), message: undefined }, { step: 'error', code: 'POLICY_VIOLATION', reason: 'too_short', message: undefined });
    assert.equal((await stack.directory.kinit(user.upn, user.password)).ok, true);
  });
});
