// The faults `tessera chaos` injects, each bounded in time and using only the local stack
// on loopback. A scenario does its damage and puts things back (restarts what it stopped);
// it never helps the pipeline recover: recovery is what the runner then measures.
import type { LocalService } from '../stack/services/service.js';
import type { ProcessGroup, Role } from './processes.js';

export type ServiceName = 'redis' | 'clickhouse' | 'kafka';

export interface ScenarioContext {
  procs: ProcessGroup;
  services: Record<ServiceName, LocalService>;
  /** how long an outage lasts */
  outageMs: number;
  log: (m: string) => void;
  sleep: (ms: number) => Promise<void>;
}

/** What a scenario did: when the fault started, and when everything was back (restarted). */
export interface FaultWindow {
  from: number;
  back: number;
  /** short description of each step, for the report */
  steps: string[];
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: ScenarioContext): Promise<FaultWindow>;
}

/** Records a step and tells the operator at once. */
function step(ctx: ScenarioContext, steps: string[], message: string): void {
  steps.push(message);
  ctx.log(message);
}

async function stopService(ctx: ScenarioContext, name: ServiceName, steps: string[]): Promise<void> {
  const t0 = Date.now();
  if (!(await ctx.services[name].stop())) throw new Error(`${name} is not running as a process of this stack (start it with \`tessera up\`)`);
  step(ctx, steps, `${name} stopped (SIGTERM, data kept) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function crashService(ctx: ScenarioContext, name: ServiceName, steps: string[]): Promise<void> {
  if (!(await ctx.services[name].kill())) throw new Error(`${name} is not running as a process of this stack (start it with \`tessera up\`)`);
  step(ctx, steps, `${name} killed with SIGKILL (a crash: it restarts from what its disk holds)`);
}

async function startService(ctx: ScenarioContext, name: ServiceName, steps: string[]): Promise<void> {
  const t0 = Date.now();
  await ctx.services[name].start(ctx.log);
  step(ctx, steps, `${name} started and healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function outage(name: ServiceName, label: string, description: string, downMs: (ctx: ScenarioContext) => number, crash = false): Scenario {
  return {
    name: label,
    description,
    async run(ctx) {
      const steps: string[] = [];
      const from = Date.now();
      await (crash ? crashService : stopService)(ctx, name, steps);
      const ms = downMs(ctx);
      if (ms > 0) {
        await ctx.sleep(ms);
        step(ctx, steps, `${name} kept down ${(ms / 1000).toFixed(0)} s`);
      }
      await startService(ctx, name, steps);
      return { from, back: Date.now(), steps };
    },
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'kill-processes',
    description: 'kill -9 of every Tessera process (online, offline, api, jobs), one after another, each restarted',
    async run(ctx) {
      const steps: string[] = [];
      const from = Date.now();
      const order: Role[] = ['online', 'offline', 'api', 'jobs'];
      for (const role of order) {
        const p = ctx.procs.get(role);
        const pid = p.pid;
        await p.kill9();
        step(ctx, steps, `${role} (pid ${pid}) killed with SIGKILL`);
        await ctx.sleep(1_000);
        p.start();
        step(ctx, steps, `${role} restarted`);
        await ctx.sleep(2_000);
      }
      return { from, back: Date.now(), steps };
    },
  },
  outage('redis', 'redis-restart', 'Redis stopped and started again at once (AOF on, data kept)', () => 0),
  outage('redis', 'redis-crash', 'Redis killed with SIGKILL and started again at once (AOF on, appendfsync everysec: the last second of writes may be gone)', () => 0, true),
  outage('redis', 'redis-outage', 'Redis down for the outage time, then started again (AOF on, data kept)', (ctx) => ctx.outageMs),
  outage('clickhouse', 'clickhouse-outage', 'ClickHouse down for the outage time, then started again', (ctx) => ctx.outageMs),
  outage('kafka', 'kafka-restart', 'the Kafka broker stopped (controlled shutdown) and started again with its data', () => 5_000),
];

export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`unknown chaos scenario ${JSON.stringify(name)}; valid: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
