// `tessera run [--online] [--offline] [--api] [--jobs]`: the long-running processes.
// SIGTERM/SIGINT stop them gracefully (the current batch finishes and is committed).
import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import { loadConfig } from '../../config/config.js';
import { childLogger } from '../../config/logger.js';
import { isApiClusterWorker, startApiCluster } from '../../api/cluster.js';
import { startApiServer } from '../../api/server.js';
import { startJobWorker } from '../../offline/jobs/worker.js';
import { startOfflineSink } from '../../offline/sink/sink.js';
import { startOnlineWorker, type OnlineWorker } from '../../streams/online/worker.js';
import { serveMetrics } from '../metrics-server.js';

interface RunOptions {
  online?: boolean;
  offline?: boolean;
  api?: boolean;
  jobs?: boolean;
  group?: string;
  apiWorkers?: number;
}

export function registerRun(program: Command): void {
  program.command('run')
    .description('run Tessera processes: online worker, offline sink, API, jobs (no flag: all four)')
    .option('--online', 'streaming feature worker (consumer group tessera-online)')
    .option('--offline', 'ClickHouse sink (consumer group tessera-offline)')
    .option('--api', 'GraphQL API')
    .option('--jobs', 'BullMQ job workers')
    .option('--api-workers <n>', 'API processes behind the API port (default TESSERA_API_WORKERS, 1)', (v) => Number(v))
    .option('--group <id>', 'consumer group of the online worker (default TESSERA_ONLINE_GROUP, tessera-online)')
    .action(async (opts: RunOptions) => {
      const config = loadConfig();
      const log = childLogger('run');
      // A process forked by startApiCluster serves the API and nothing else.
      const apiWorker = isApiClusterWorker();
      const none = !opts.online && !opts.offline && !opts.api && !opts.jobs;
      const wanted = apiWorker ? { online: false, offline: false, api: true, jobs: false }
        : { online: none || opts.online, offline: none || opts.offline, api: none || opts.api, jobs: none || opts.jobs };
      const apiWorkers = opts.apiWorkers ?? config.api.workers;
      if (!Number.isInteger(apiWorkers) || apiWorkers < 1 || apiWorkers > 64) throw new Error(`--api-workers must be an integer from 1 to 64, got ${String(opts.apiWorkers)}`);

      const stops: Array<() => Promise<void>> = [];
      const registries: Registry[] = [];
      let online: OnlineWorker | undefined;
      if (wanted.online) {
        online = await startOnlineWorker({ config, groupId: opts.group });
        stops.push(() => (online as OnlineWorker).stop());
        registries.push(online.metrics.registry);
      }
      if (wanted.offline) {
        const sink = await startOfflineSink({ config });
        stops.push(() => sink.stop());
        registries.push(sink.metrics);
      }
      if (wanted.api && !apiWorker && apiWorkers > 1) {
        const apis = await startApiCluster(apiWorkers, log);
        stops.push(() => apis.stop());
      } else if (wanted.api) {
        const api = await startApiServer(config, { clusterWorker: apiWorker });
        stops.push(() => api.stop());
      }
      if (wanted.jobs) {
        const jobs = await startJobWorker({ config, schedule: true });
        stops.push(() => jobs.stop());
        registries.push(jobs.metrics);
      }
      const metricsServer = registries.length > 0 && config.metricsPort > 0 ? serveMetrics(config.metricsPort, registries, config.metricsHost) : undefined;
      log.info({ metrics: config.metricsPort > 0 ? `http://127.0.0.1:${config.metricsPort}/metrics` : 'off' }, 'running');

      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      for (const stop of stops.reverse()) await stop();
      metricsServer?.close();
      log.info('stopped');
      if (apiWorker) process.disconnect(); // the IPC channel to the primary would keep this process alive
    });
}
