// The API under test as its own process (`tessera run --api`, production mode) on a private
// Redis prefix, and what the benchmarks charge to it: CPU of that process (/proc), of this
// process, and of the Redis server, plus Redis's own per-command times.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { PROJECT_ROOT, type Config } from '../config/config.js';
import { processTreeCpuSeconds, type Samples } from './load.js';
import { freePort } from '../stack/process.js';
import { round, sleep, stopChild } from './support.js';

/** CPU time per completed request, ms: the API process, this process (the client), the Redis server. */
export interface CpuPerRequest {
  api: number;
  client: number;
  redis: number;
}

/** tessera_api_processes of /metrics: how many API processes answer behind the port. */
async function processesReporting(port: number): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  return Number(/^tessera_api_processes (\d+)/m.exec(text)?.[1] ?? 0);
}

/** `tessera run --api` in its own process (and `workers` cluster workers when > 1), production mode, on the private prefix. */
export async function startApiProcess(config: Config, prefix: string, apiKey: string, workers = 1): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  // TESSERA_BENCH_API_NODE_ARGS: extra node flags for the API process (e.g. --cpu-prof).
  const nodeArgs = (process.env.TESSERA_BENCH_API_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'bin', 'tessera.js'), 'run', '--api'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env, TESSERA_MODE: 'production', TESSERA_API_KEYS: `bench:${apiKey}:read`, TESSERA_API_PORT: String(port),
      TESSERA_REDIS_URL: config.redis.url, TESSERA_REDIS_PREFIX: prefix, TESSERA_CLICKHOUSE_URL: config.clickhouse.url,
      TESSERA_ALLOWED_LATENESS_MS: String(config.events.allowedLatenessMs), TESSERA_LOG_LEVEL: 'warn', TESSERA_API_WORKERS: String(workers),
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API process exited with ${child.exitCode} before it was ready`);
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false)
      && (workers === 1 || await processesReporting(port) === workers); // every worker listens
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the API process was not ready after 60 s');
    }
    await sleep(200);
  }
  return {
    port, child,
    stop: () => stopChild(child, 10_000),
  };
}

/** CPU seconds the Redis server has used (INFO cpu; other clients of the same server count too). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (k: string): number => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return num('used_cpu_sys') + num('used_cpu_user');
}

/** Runs a measurement and charges the CPU used meanwhile by the API process, this process and Redis to its completed requests. */
export async function withCpu<S extends Samples>(apiPid: number, redis: Redis, run: () => Promise<S>): Promise<[S, CpuPerRequest]> {
  const a0 = processTreeCpuSeconds(apiPid);
  const c0 = process.cpuUsage();
  const r0 = await redisCpuSeconds(redis);
  const x = await run();
  const c = process.cpuUsage(c0);
  const per = (sec: number): number => (x.completed > 0 ? round((sec * 1000) / x.completed, 3) : NaN);
  return [x, { api: per(processTreeCpuSeconds(apiPid) - a0), client: per((c.user + c.system) / 1e6), redis: per((await redisCpuSeconds(redis)) - r0) }];
}

/** Redis's own time for one command (INFO commandstats): calls and microseconds so far. */
export async function commandStats(redis: Redis, command: string): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+),usec=(\\d+)`).exec(info);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}
