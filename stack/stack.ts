// `tessera up`, `down`, `status`: the local Kafka + ClickHouse + Redis stack.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { ensureDatabase } from '../offline/clickhouse-client.js';
import { ensureTopics } from '../streams/kafka-client.js';
import { clickhouseService } from './services/clickhouse.js';
import { kafkaService } from './services/kafka.js';
import { redisService } from './services/redis.js';
import type { LocalService, ServiceStatus } from './services/service.js';

export function services(config: Config): LocalService[] {
  return [redisService(config), clickhouseService(config), kafkaService(config)];
}

export interface UpResult {
  service: string;
  outcome: 'started' | 'already-running' | 'external';
  ms: number;
}

/** Installs what is missing, starts what is not running, waits for health, creates topics. Idempotent. */
export async function up(config: Config, log: (m: string) => void): Promise<UpResult[]> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const list = services(config);
  for (const s of list) s.install(log);
  // Start all three at once: Kafka's JVM start dominates, the others overlap with it.
  const results = await Promise.all(list.map(async (s): Promise<UpResult> => {
    const t0 = Date.now();
    const outcome = await s.start(log);
    return { service: s.name, outcome, ms: Date.now() - t0 };
  }));
  // A freshly started KRaft broker answers metadata before it can host new partitions;
  // retry topic creation briefly instead of failing the first `up` of a machine.
  await retrying('create topics', () => ensureTopics(config), 30_000);
  await retrying('create database', () => ensureDatabase(config), 30_000);
  fs.writeFileSync(path.join(config.dataDir, 'stack.json'), JSON.stringify({ up: new Date().toISOString(), results }, null, 2));
  return results;
}

async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** Stops only the processes `up` started (those with pid files under the data folder). */
export async function down(config: Config): Promise<{ service: string; stopped: boolean }[]> {
  const out: { service: string; stopped: boolean }[] = [];
  for (const s of services(config).reverse()) out.push({ service: s.name, stopped: await s.stop() });
  return out;
}

export async function status(config: Config): Promise<ServiceStatus[]> {
  return Promise.all(services(config).map((s) => s.status()));
}
