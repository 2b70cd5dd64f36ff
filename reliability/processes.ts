// Tessera processes (`tessera run --online|--offline|--api|--jobs`) as child processes that
// a chaos scenario or a soak run can kill -9, stop gracefully, restart and measure. One
// role per process, so each can be killed on its own, as in production.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/config.js';

export type Role = 'online' | 'offline' | 'api' | 'jobs';
export const ROLES: readonly Role[] = ['online', 'offline', 'api', 'jobs'];

export interface ProcessOptions {
  role: Role;
  /** the whole environment of the child (TESSERA_* settings included) */
  env: NodeJS.ProcessEnv;
  /** stderr and stdout go here (appended over restarts) */
  logFile: string;
}

// Children die with the run that started them (an interrupted chaos or soak run must not
// leave workers consuming in the background).
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** One `tessera run --<role>` that can be killed and started again with the same settings. */
export class TesseraProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** how often it was started */
  starts = 0;

  constructor(readonly options: ProcessOptions) {}

  get role(): Role {
    return this.options.role;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.role} is already running (pid ${this.child?.pid})`);
    fs.mkdirSync(path.dirname(this.options.logFile), { recursive: true });
    const out = fs.openSync(this.options.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'run', `--${this.role}`], {
      cwd: PROJECT_ROOT, env: this.options.env, stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    live.add(child);
    this.exited = new Promise((resolve) => child.once('exit', () => {
      live.delete(child);
      resolve();
    }));
    this.child = child;
    this.starts += 1;
  }

  /** SIGKILL: no cleanup of any kind, as a crashed machine would leave it. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait (the current batch finishes and is committed); SIGKILL after graceMs. */
  async stop(graceMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (child === undefined || !this.running) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    return child.exitCode;
  }

  /** Resident set size of the process in bytes (from /proc), undefined when not running. */
  rssBytes(): number | undefined {
    return this.pid === undefined ? undefined : rssOf(this.pid);
  }

  /** The last lines of its log, for error messages. */
  tail(lines = 20): string {
    try {
      return fs.readFileSync(this.options.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

/** VmRSS of a pid in bytes, or undefined when the process is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** All four roles, each its own process, with one shared environment. */
export class ProcessGroup {
  readonly byRole: ReadonlyMap<Role, TesseraProcess>;

  constructor(env: NodeJS.ProcessEnv, logDir: string, roles: readonly Role[] = ROLES) {
    this.byRole = new Map(roles.map((role) => [role, new TesseraProcess({ role, env, logFile: path.join(logDir, `${role}.log`) })]));
  }

  get(role: Role): TesseraProcess {
    const p = this.byRole.get(role);
    if (p === undefined) throw new Error(`no ${role} process in this group`);
    return p;
  }

  startAll(): void {
    for (const p of this.byRole.values()) p.start();
  }

  /** Graceful stop of every process; returns the exit codes by role. */
  async stopAll(): Promise<Record<string, number | null>> {
    const codes: Record<string, number | null> = {};
    await Promise.all([...this.byRole.values()].map(async (p) => { codes[p.role] = await p.stop(); }));
    return codes;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.byRole.values()].map((p) => p.kill9()));
  }
}
