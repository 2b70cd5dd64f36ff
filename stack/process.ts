// Detached service processes tracked by pid files, so `down` stops only what `up` started.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for servers started right after). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The process ids whose parent is pid (Linux /proc; empty elsewhere). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try { entries = fs.readdirSync('/proc'); } catch { return out; }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** Starts a long-running detached process with output to a log file and records its pid. */
export function startDetached(cmd: string, args: string[], opts: { logFile: string; pidFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): number {
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], cwd: opts.cwd, env: opts.env ?? process.env });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  child.unref();
  fs.writeFileSync(opts.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM, wait up to graceMs, then SIGKILL. Removes the pid file. */
export async function stopPid(pidFile: string, graceMs: number): Promise<boolean> {
  const pid = readPid(pidFile);
  if (!isAlive(pid) || pid === undefined) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
  fs.rmSync(pidFile, { force: true });
  return true;
}

/**
 * SIGKILL, as a machine crash would, to the whole process group: a forked child (Redis's
 * AOF rewrite, for one) would otherwise live on holding the listening socket, and the
 * restart would find the port taken. Waits until the process is gone; removes the pid file.
 */
export async function killPid(pidFile: string): Promise<boolean> {
  const pid = readPid(pidFile);
  if (!isAlive(pid) || pid === undefined) return false;
  try {
    process.kill(-pid, 'SIGKILL'); // detached: the service leads its own group
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  while (isAlive(pid)) await sleep(50);
  fs.rmSync(pidFile, { force: true });
  return true;
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or the timeout passes. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  const tail = logFile && fs.existsSync(logFile) ? `; last log lines:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}` : '';
  throw new Error(`${what} not healthy after ${Math.round(timeoutMs / 1000)} s${tail}`);
}

export interface EnsureRunningOptions {
  name: string;
  pidFile: string;
  port: number;
  healthy: () => Promise<boolean>;
  /** starts the process (writes the pid file); called only when nothing serves the port */
  launch: () => void;
  timeoutMs: number;
  logFile: string;
  /** hint printed when a foreign process holds the port */
  portHint: string;
}

/**
 * The idempotent part of `up` shared by every service: ours and alive -> wait until healthy;
 * something healthy on the port that we did not start -> leave it ('external'); the port
 * held by something else -> a clear error; otherwise launch and wait.
 */
export async function ensureRunning(o: EnsureRunningOptions): Promise<'started' | 'already-running' | 'external'> {
  if (isAlive(readPid(o.pidFile))) {
    await waitFor(o.name, o.healthy, o.timeoutMs, o.logFile);
    return 'already-running';
  }
  if (await portOpen(o.port)) {
    // A server that is still starting (Redis loading its AOF) answers health checks a moment later.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (await o.healthy().catch(() => false)) return 'external';
      await sleep(500);
    }
    throw new Error(`port ${o.port} is in use by something that is not ${o.name}; ${o.portHint}`);
  }
  o.launch();
  await waitFor(o.name, o.healthy, o.timeoutMs, o.logFile);
  return 'started';
}

/** running (ours), external (healthy, not ours), unhealthy (ours, not answering) or stopped. */
export async function serviceState(pidFile: string, healthy: () => Promise<boolean>): Promise<{ state: 'running' | 'stopped' | 'external' | 'unhealthy'; pid?: number }> {
  const pid = readPid(pidFile);
  const alive = isAlive(pid);
  const ok = await healthy();
  const state = alive ? (ok ? 'running' : 'unhealthy') : ok ? 'external' : 'stopped';
  return alive && pid !== undefined ? { state, pid } : { state };
}
