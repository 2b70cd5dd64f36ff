// `tessera run --api` with TESSERA_API_WORKERS=N > 1: N API processes behind one port
// (node:cluster, the primary hands out connections round-robin). Why processes: an API
// request is CPU in one Node thread (GraphQL execution, evaluation, serialization), so one
// process saturates one core while Redis answers in a fraction of that.
//
// The primary only supervises: it starts the workers, restarts one that dies (with a
// growing delay when it keeps dying), stops them on stop(), and answers the workers'
// requests for cluster-wide metrics, so /metrics on any worker reports all of them
// (summed over workers with prom-client's AggregatorRegistry.aggregate).
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { PROJECT_ROOT } from '../config/config.js';

const METRICS_REQUEST = 'tessera:api-metrics-request'; // worker -> primary: /metrics was asked
const METRICS_COLLECT = 'tessera:api-metrics-collect'; // primary -> workers: send your metrics
const METRICS_PART = 'tessera:api-metrics-part'; // worker -> primary: its metrics as JSON
const METRICS_REPLY = 'tessera:api-metrics-reply'; // primary -> worker: the aggregated text
/** a worker that has not answered by then (busy, or just dying) is left out of that scrape */
const COLLECT_TIMEOUT_MS = 2_000;
const METRICS_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 15_000;
const RESTART_DELAY_MS = [0, 1_000, 5_000, 30_000];
/** a worker that lived this long resets the restart delay */
const STABLE_MS = 60_000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
type Message =
  | { type: typeof METRICS_REQUEST; id: number }
  | { type: typeof METRICS_COLLECT; id: number }
  | { type: typeof METRICS_PART; id: number; metrics: MetricsJson }
  | { type: typeof METRICS_REPLY; id: number; text?: string; error?: string };

function asMessage(m: unknown): Message | undefined {
  const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return typeof type === 'string' && type.startsWith('tessera:api-metrics-') ? (m as Message) : undefined;
}

export interface ApiCluster {
  stop(): Promise<void>;
}

/**
 * Starts `workers` API processes (each `tessera run --api` with the same environment) and
 * resolves once every one of them listens. Call in the primary only.
 */
export async function startApiCluster(workers: number, log: Logger): Promise<ApiCluster> {
  cluster.setupPrimary({ exec: path.join(PROJECT_ROOT, 'bin', 'tessera.js'), args: ['run', '--api'] });
  let stopping = false;
  const slots = new Map<number, { worker: Worker; started: number; failures: number; listening: boolean }>();
  let nextCollect = 0;
  const collecting = new Map<number, (metrics: MetricsJson) => void>();

  // Asks every listening worker for its metrics and sums them (prom-client's aggregation:
  // counters and histograms add up; a worker that died takes its counts with it, which
  // Prometheus reads as a counter reset).
  const aggregate = async (): Promise<string> => {
    const id = nextCollect++;
    const targets = [...slots.values()].filter((s) => s.listening && s.worker.isConnected()).map((s) => s.worker);
    const parts: MetricsJson[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COLLECT_TIMEOUT_MS);
      let waiting = targets.length;
      collecting.set(id, (metrics) => {
        parts.push(metrics);
        if (--waiting === 0) { clearTimeout(timer); resolve(); }
      });
      for (const w of targets) w.send({ type: METRICS_COLLECT, id } satisfies Message);
      if (waiting === 0) { clearTimeout(timer); resolve(); }
    });
    collecting.delete(id);
    if (parts.length < targets.length) log.warn({ answered: parts.length, workers: targets.length }, 'API metrics: some workers did not answer in time');
    return AggregatorRegistry.aggregate(parts).metrics();
  };

  const onMessage = (worker: Worker, raw: unknown): void => {
    const m = asMessage(raw);
    if (m?.type === METRICS_PART) collecting.get(m.id)?.(m.metrics);
    else if (m?.type === METRICS_REQUEST) {
      aggregate().then(
        (text) => worker.send({ type: METRICS_REPLY, id: m.id, text } satisfies Message),
        (err: Error) => worker.send({ type: METRICS_REPLY, id: m.id, error: err.message } satisfies Message),
      );
    }
  };

  const fork = (slot: number, failures: number): Promise<void> => new Promise((resolve) => {
    const worker = cluster.fork({ TESSERA_API_WORKER_SLOT: String(slot) });
    const state = { worker, started: Date.now(), failures, listening: false };
    slots.set(slot, state);
    worker.on('message', (m: unknown) => onMessage(worker, m));
    worker.once('listening', () => { state.listening = true; resolve(); });
    worker.once('exit', (code, signal) => {
      resolve(); // a worker that died before listening must not hold up start
      if (stopping) return;
      const next = Date.now() - state.started >= STABLE_MS ? 0 : state.failures + 1;
      const delay = RESTART_DELAY_MS[Math.min(next, RESTART_DELAY_MS.length - 1)] as number;
      log.error({ worker: worker.process.pid, code, signal, restartInMs: delay }, 'API worker exited; restarting it');
      setTimeout(() => { if (!stopping) void fork(slot, next); }, delay).unref();
    });
  });

  await Promise.all(Array.from({ length: workers }, (_, slot) => fork(slot, 0)));
  log.info({ workers, workerPids: [...slots.values()].map((s) => s.worker.process.pid) }, 'API workers listening');

  return {
    async stop() {
      stopping = true;
      await Promise.all([...slots.values()].map(({ worker }) => new Promise<void>((resolve) => {
        if (worker.isDead()) return resolve();
        const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
        worker.once('exit', () => { clearTimeout(kill); resolve(); });
        worker.process.kill('SIGTERM'); // the worker's own handler stops its server gracefully
      })));
    },
  };
}

/**
 * In an API worker: answers the primary's requests for this process's metrics, and returns
 * what /metrics should serve, the whole cluster's metrics (asked of the primary).
 */
export function clusterWorkerMetrics(registry: Registry): () => Promise<string> {
  const send = (m: Message): void => { (process.send as NonNullable<typeof process.send>)(m); };
  let next = 0;
  const pending = new Map<number, (reply: { text?: string; error?: string }) => void>();
  process.on('message', (raw: unknown) => {
    const m = asMessage(raw);
    if (m?.type === METRICS_COLLECT) void registry.getMetricsAsJSON().then((metrics) => send({ type: METRICS_PART, id: m.id, metrics }));
    else if (m?.type === METRICS_REPLY) pending.get(m.id)?.(m);
  });
  return () => new Promise<string>((resolve, reject) => {
    const id = next++;
    const timer = setTimeout(() => pending.get(id)?.({ error: 'the primary did not answer' }), METRICS_TIMEOUT_MS);
    pending.set(id, (reply) => {
      clearTimeout(timer);
      pending.delete(id);
      if (reply.text !== undefined) resolve(reply.text);
      else reject(new Error(`cluster metrics: ${reply.error ?? 'no answer'}`));
    });
    send({ type: METRICS_REQUEST, id });
  });
}

/** Is this process an API worker forked by startApiCluster? */
export function isApiClusterWorker(): boolean {
  return cluster.isWorker && process.env.TESSERA_API_WORKER_SLOT !== undefined;
}
