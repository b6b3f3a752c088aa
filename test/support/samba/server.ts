/**
 * Running the `samba` daemon of a test directory, and making sure it never outlives the tests.
 *
 * Belt and braces, because a leftover DC holds ports 88/389/636 and breaks the next run:
 *   1. samba runs in the foreground (`-i`) with its stdin a pipe from this process; Samba ends
 *      itself when that pipe reaches EOF, i.e. as soon as this process dies, however it dies;
 *   2. `--maximum-runtime` ends it after a few hours whatever happens;
 *   3. its pid (it leads its own process group) and folder are recorded in a well-known file
 *      (os.tmpdir()/unlatch-test-dc.pid); the next start kills a leftover whose owner is gone,
 *      after checking by /proc that the pid is still that samba;
 *   4. stop() and a process 'exit' hook kill the process group and remove the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { sambaTools } from './tools.ts';

export const PID_FILE = path.join(os.tmpdir(), 'unlatch-test-dc.pid');
const PORTS = [88, 389, 636];

interface PidRecord {
  sambaPid: number;
  ownerPid: number;
  dir: string;
  startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid);
}

/** Kills the DC of a previous run whose owning process is gone; refuses if its owner lives. */
export async function reapLeftover(log: (s: string) => void): Promise<void> {
  let rec: PidRecord;
  try {
    rec = JSON.parse(readFileSync(PID_FILE, 'utf8')) as PidRecord;
  } catch {
    return;
  }
  if (rec.ownerPid !== process.pid && alive(rec.ownerPid)) {
    throw new Error(
      `test directory: another test DC is running (samba pid ${rec.sambaPid}, started by pid ${rec.ownerPid} at ` +
        `${rec.startedAt}); only one can hold ports 88/389/636. Stop that test run first.`,
    );
  }
  const cmd = cmdline(rec.sambaPid);
  if (alive(rec.sambaPid) && cmd.includes('samba') && cmd.includes(rec.dir)) {
    log(`test directory: killing leftover samba pid ${rec.sambaPid} from a previous run`);
    killGroup(rec.sambaPid, 'SIGKILL');
    await waitGone(rec.sambaPid, 5000);
  }
  if (rec.dir.startsWith(os.tmpdir())) rmSync(rec.dir, { recursive: true, force: true });
  try {
    unlinkSync(PID_FILE);
  } catch {
    /* fine */
  }
}

function portOpen(port: number, host = '127.0.0.1', ms = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Fails with a useful message when something else listens on the DC's ports. */
export async function assertPortsFree(): Promise<void> {
  const busy: number[] = [];
  for (const p of PORTS) if (await portOpen(p)) busy.push(p);
  if (busy.length) {
    throw new Error(
      `test directory: port(s) ${busy.join(', ')} on 127.0.0.1 are in use. A system Samba (samba-ad-dc, smbd, ` +
        'winbind) or another directory server may be running; stop it (e.g. `systemctl stop samba-ad-dc; ' +
        'systemctl mask samba-ad-dc`) so the test DC can listen there.',
    );
  }
}

export interface RunningSamba {
  pid: number;
  /** Last lines Samba printed (for error messages). */
  output(): string;
  /** Stops samba (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** Synchronous last-resort kill, for process 'exit'. */
  killNow(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startSamba(
  domainDir: string,
  recordDir: string,
  opts: { log?: ((s: string) => void) | undefined; maxRuntimeSeconds?: number },
): RunningSamba {
  const { samba } = sambaTools();
  const child: ChildProcess = spawn(
    samba,
    [
      '-i',
      '-s',
      path.join(domainDir, 'etc', 'smb.conf'),
      '--debug-stdout',
      `--maximum-runtime=${opts.maxRuntimeSeconds ?? 4 * 3600}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  if (!child.pid) throw new Error('test directory: could not start samba');
  const pid = child.pid;
  const tail: string[] = [];
  const onData = (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 200) tail.shift();
      opts.log?.(`samba: ${line}`);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.stdin?.on('error', () => {});
  // Do not keep the test process alive because of samba; its stdin pipe stays open until we
  // exit, which is what keeps samba alive.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as net.Socket | null)?.unref?.();

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));

  const rec: PidRecord = { sambaPid: pid, ownerPid: process.pid, dir: recordDir, startedAt: new Date().toISOString() };
  writeFileSync(PID_FILE, JSON.stringify(rec));

  const forgetPidFile = () => {
    try {
      const cur = JSON.parse(readFileSync(PID_FILE, 'utf8')) as PidRecord;
      if (cur.sambaPid === pid) unlinkSync(PID_FILE);
    } catch {
      /* fine */
    }
  };

  let stopping: Promise<void> | undefined;
  return {
    pid,
    exited,
    output: () => tail.join('\n'),
    stop() {
      stopping ??= (async () => {
        if (!gone) {
          child.stdin?.end();
          killGroup(pid, 'SIGTERM');
          const ok = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
          if (!ok) killGroup(pid, 'SIGKILL');
        }
        // prefork workers may linger a moment after the master.
        killGroup(pid, 'SIGKILL');
        forgetPidFile();
      })();
      return stopping;
    },
    killNow() {
      killGroup(pid, 'SIGKILL');
      forgetPidFile();
    },
  };
}

/**
 * Waits until LDAPS on 127.0.0.1:636 completes a verified TLS handshake (with the DC's CA) or
 * samba exits or the time is up.
 */
export async function waitForLdaps(
  server: RunningSamba,
  caPem: string,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < end) {
    if (exited) throw new Error(`test directory: samba exited during start-up:\n${server.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: 636, ca: caPem, timeout: 1000 }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`test directory: LDAPS did not answer within ${timeoutMs} ms:\n${server.output()}`);
}
