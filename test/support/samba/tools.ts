/**
 * Locating and running the external programs the test directory needs (Samba, its Python,
 * openssl, MIT kinit). Nothing here is secret-aware: callers pass secrets through stdin only.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

const SEARCH_DIRS = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable, or null. */
export function which(cmd: string): string | null {
  for (const dir of SEARCH_DIRS) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

export interface SambaTools {
  samba: string;
  sambaTool: string;
  /** The interpreter from samba-tool's shebang: the one that has Samba's Python bindings. */
  python: string;
  openssl: string;
  kinit: string;
}

let cached: SambaTools | undefined;

/** Finds the tools or throws one error that says what is missing and how to install it. */
export function sambaTools(): SambaTools {
  if (cached) return cached;
  const missing: string[] = [];
  const need = (cmd: string): string => {
    const found = which(cmd);
    if (!found) missing.push(cmd);
    return found ?? cmd;
  };
  const samba = need('samba');
  const sambaTool = need('samba-tool');
  const openssl = need('openssl');
  const kinit = need('kinit');
  let python = '/usr/bin/python3';
  if (!missing.includes('samba-tool')) {
    const shebang = readFileSync(sambaTool, 'utf8').split('\n', 1)[0] ?? '';
    const m = /^#!\s*(\S+)/.exec(shebang);
    if (m?.[1] && !m[1].endsWith('/env')) python = m[1];
  }
  if (missing.length) {
    throw new Error(
      `test directory: missing ${missing.join(', ')}. Run \`bash scripts/ensure-test-env.sh\` ` +
        '(as root it installs samba samba-ad-dc krb5-user ldap-utils winbind openssl).',
    );
  }
  cached = { samba, sambaTool, python, openssl, kinit };
  return cached;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion. `input` goes to stdin (then stdin is closed), which is how
 * secrets are passed: never in argv, never in the environment. When `input` is a promise the
 * program starts at once and gets its stdin when the promise resolves.
 */
export function run(
  file: string,
  args: string[],
  opts: { input?: string | Promise<string>; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A child that exits before reading stdin makes the write fail with EPIPE; the exit code
    // tells the real story.
    child.stdin.on('error', () => {});
    // The input may come later (a promise): the program can start up meanwhile.
    void Promise.resolve(opts.input ?? '').then(
      (text) => child.stdin.end(text),
      () => child.stdin.end(),
    );
  });
}

/** Like run() but throws (with the tail of the output) on a non-zero exit. */
export async function runOk(
  file: string,
  args: string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${path.basename(file)} ${args[0] ?? ''} failed (exit ${r.code ?? r.signal}):\n${tail}`);
  }
  return r;
}
