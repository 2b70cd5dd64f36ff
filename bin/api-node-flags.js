// The production API's V8 heap settings, which V8 reads only when a process starts (a
// later v8.setFlagsFromString has no effect on them): `tessera run --api` in production
// mode re-runs itself once with them (BENCHMARKS.md, "Serving", perf-serve3).
//
// - --max-semi-space-size=64: a request allocates 150 KiB (one user) to 760 KiB (a user and
//   100 items) of short-lived objects; with the default 16 MiB young generation a scavenge
//   ran every ~20 ranking requests. A 4x larger one scavenges 4x less often and promotes
//   less.
// - --no-parallel-scavenge: on a machine whose cores are also busy (Redis, other
//   processes), a parallel scavenge waits for helper threads that are not running, and the
//   pause the requests see grows several-fold; the main thread alone finished sooner.
//   (--single-threaded-gc did the same for scavenges, but it also takes marking of the old
//   generation off the helper threads: major GC pauses of 68-205 ms instead of 27-50 ms.)
// - --expose-gc: the API starts scavenges itself in the idle gaps between requests
//   (api/idle-scavenge.ts), so that they rarely land in the middle of one.
//
// Anything the operator set wins: any heap flag already in execArgv or NODE_OPTIONS, or
// TESSERA_API_NODE_FLAGS (a space-separated list, '' = Node's defaults) replaces these.
import { spawn } from 'node:child_process';
import { setInterval } from 'node:timers';
import cluster from 'node:cluster';

export const API_NODE_FLAGS = ['--max-semi-space-size=64', '--no-parallel-scavenge', '--expose-gc'];
/** set in the re-run process, so it never re-runs again */
const MARK = 'TESSERA_API_NODE_FLAGS_APPLIED';

function wanted(argv, env) {
  if (env[MARK] !== undefined || cluster.isWorker) return undefined; // cluster workers inherit the primary's execArgv
  const args = argv.slice(2);
  const i = args.indexOf('run');
  if (i < 0 || !args.slice(i + 1).includes('--api') || (env.TESSERA_MODE ?? 'development') !== 'production') return undefined;
  if (env.TESSERA_API_NODE_FLAGS !== undefined) {
    const flags = env.TESSERA_API_NODE_FLAGS.split(' ').filter((f) => f !== '');
    return flags.length > 0 ? flags : undefined;
  }
  const given = `${process.execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`;
  return /--(max|min)-semi-space-size|--single-threaded-gc|--no-parallel-scavenge/.test(given) ? undefined : API_NODE_FLAGS;
}

/** The re-run process stops (gracefully, as on SIGTERM) when the process that started it is gone (killed with SIGKILL). */
function stopWithParent() {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 1_000).unref();
}

/**
 * When this process is a production `tessera run --api` without the flags: runs the same
 * command with them as a child (signals forwarded, its exit status passed on) and resolves
 * true; the caller must then do nothing else. Otherwise resolves false at once.
 */
export function rerunWithApiFlags() {
  if (process.env[MARK] !== undefined) stopWithParent();
  const flags = wanted(process.argv, process.env);
  if (flags === undefined) return Promise.resolve(false);
  const child = spawn(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: flags.join(' ') },
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.once('error', (err) => {
    process.stderr.write(`tessera: could not re-run the API with ${flags.join(' ')}: ${err.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 1)));
  return Promise.resolve(true);
}
