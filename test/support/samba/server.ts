/**
 * Running the `samba` daemon of a test directory, and making sure it never outlives the tests.
 *
 * Belt and braces, because a leftover DC holds ports 88/389/636 and breaks the next run:
 *   1. samba runs in the foreground (`-i`) with its stdin a pipe from this process; Samba ends
 *      itself when that pipe reaches EOF, i.e. as soon as this process dies, however it dies;
 *   2. `--maximum-runtime` ends it after a few hours whatever happens;
 *   3. its pid (it leads its own process group), start time and folder are recorded in a
 *      well-known file (os.tmpdir()/unlatch-test-dc.pid); the next start kills a leftover whose
 *      owner is gone, after checking in /proc that the pid is still that samba (same executable,
 *      same start time: Samba rewrites its argv, so the command line cannot tell);
 *   4. stop() and a process 'exit' hook kill the process group and remove the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { sambaTools } from './tools.ts';

export const PID_FILE = path.join(os.tmpdir(), 'unlatch-test-dc.pid');
const PORTS = [88, 389, 636];

interface PidRecord {
  sambaPid: number;
  /** Kernel start time of that pid (/proc/<pid>/stat field 22): guards against pid reuse. */
  sambaStart: string | null;
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

/** Start time of a process in clock ticks since boot, or null (no /proc, no such pid). */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may contain spaces; fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** True when pid is still the samba we recorded (Samba rewrites its argv, so check exe + start). */
function isOurSamba(rec: PidRecord): boolean {
  if (!alive(rec.sambaPid)) return false;
  let exe = '';
  try {
    exe = readlinkSync(`/proc/${rec.sambaPid}/exe`);
  } catch {
    /* not readable */
  }
  if (!/\/samba( \(deleted\))?$/.test(exe)) return false;
  return rec.sambaStart === null || procStart(rec.sambaPid) === rec.sambaStart;
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

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until the process group (samba and its prefork children) has gone. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid) && !groupAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid) && !groupAlive(pid);
}

function readRecord(): PidRecord | null {
  try {
    return JSON.parse(readFileSync(PID_FILE, 'utf8')) as PidRecord;
  } catch {
    return null;
  }
}

function writeRecord(rec: PidRecord, exclusive: boolean): void {
  writeFileSync(PID_FILE, JSON.stringify(rec), { flag: exclusive ? 'wx' : 'w' });
}

/** Removes the record if it is ours (this process, this folder). */
export function releaseSlot(dir: string): void {
  const cur = readRecord();
  if (cur && cur.ownerPid === process.pid && cur.dir === dir) {
    try {
      unlinkSync(PID_FILE);
    } catch {
      /* fine */
    }
  }
}

/** Kills what a dead owner left behind: its samba (if still the same process) and folder. */
async function reap(rec: PidRecord, log: (s: string) => void): Promise<void> {
  if (rec.sambaPid && isOurSamba(rec)) {
    log(`test directory: killing leftover samba pid ${rec.sambaPid} from a previous run`);
    killGroup(rec.sambaPid, 'SIGKILL');
    await waitGone(rec.sambaPid, 5000);
  }
  if (rec.dir.startsWith(os.tmpdir())) rmSync(rec.dir, { recursive: true, force: true });
  const cur = readRecord();
  if (cur && cur.ownerPid === rec.ownerPid && cur.dir === rec.dir) {
    try {
      unlinkSync(PID_FILE);
    } catch {
      /* someone else removed it */
    }
  }
}

/**
 * Claims the one test-DC slot of this machine (ports 88/389/636) for `dir`, atomically (the
 * record file is created exclusively). A slot whose owner process is gone is reaped; one whose
 * owner lives (another test run) is waited for, up to `waitMs`.
 */
export async function claimSlot(
  dir: string,
  opts: { log: (s: string) => void; waitMs: number; ownDirs: ReadonlySet<string> },
): Promise<void> {
  const deadline = Date.now() + opts.waitMs;
  let announced = false;
  for (;;) {
    const holder = readRecord();
    if (holder) {
      const busy = holder.ownerPid === process.pid ? opts.ownDirs.has(holder.dir) : alive(holder.ownerPid);
      if (busy) {
        const who =
          holder.ownerPid === process.pid
            ? 'this process already runs a test DC; stop() it first'
            : `another test run (pid ${holder.ownerPid}, since ${holder.startedAt}) is using the test DC`;
        if (holder.ownerPid === process.pid || Date.now() >= deadline) {
          throw new Error(`test directory: ${who}; only one can hold ports 88/389/636.`);
        }
        if (!announced) {
          // Always shown: otherwise a wait looks like a hang.
          console.error(`test directory: ${who}; waiting up to ${Math.round(opts.waitMs / 1000)} s for it to finish`);
          announced = true;
        }
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      await reap(holder, opts.log);
      continue;
    }
    try {
      writeRecord({ sambaPid: 0, sambaStart: null, ownerPid: process.pid, dir, startedAt: new Date().toISOString() }, true);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Someone claimed it between our read and our create: look again.
    }
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

/**
 * Fails with a useful message when something else listens on the DC's ports (after giving a
 * DC that is just shutting down a few seconds to let go of them).
 */
export async function assertPortsFree(waitMs = 5000): Promise<void> {
  const end = Date.now() + waitMs;
  let busy: number[] = [];
  for (;;) {
    busy = [];
    for (const p of PORTS) if (await portOpen(p)) busy.push(p);
    if (!busy.length || Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
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

/** Starts samba for the domain in domainDir; the slot for recordDir must be claimed. */
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

  const rec = readRecord();
  if (rec && rec.ownerPid === process.pid && rec.dir === recordDir) {
    writeRecord({ ...rec, sambaPid: pid, sambaStart: procStart(pid) }, false);
  }

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
        // prefork workers may linger a moment after the master; wait until the ports are free.
        killGroup(pid, 'SIGKILL');
        await waitGone(pid, 5000);
      })();
      return stopping;
    },
    killNow() {
      killGroup(pid, 'SIGKILL');
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
