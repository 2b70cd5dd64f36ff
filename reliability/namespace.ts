// A private Tessera deployment on the local stack for one chaos or soak run: its own topics,
// Redis prefix, ClickHouse database, consumer groups, API port and API key, so a run never
// touches the demo's data or another run's, and can be removed afterwards.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig, type Config } from '../config/config.js';
import { createClickHouse, ensureDatabase } from '../offline/clickhouse-client.js';
import { execute } from '../offline/query.js';
import { ident, sql } from '../offline/sql.js';
import { createRedis, deletePrefix } from '../store/redis-client.js';
import { createKafka, ensureTopics } from '../streams/kafka-client.js';
import { freePort } from '../stack/process.js';

export { freePort };

export interface Namespace {
  /** short id, part of every name below */
  id: string;
  /** the config every process of the run loads (from `env`) */
  config: Config;
  /** environment for `tessera run` child processes */
  env: NodeJS.ProcessEnv;
  apiUrl: string;
  apiKey: string;
  groups: { online: string; offline: string };
  logDir: string;
}

/** Creates topics and the database; returns the settings. `extra` overrides any TESSERA_* value. */
export async function createNamespace(kind: string, extra: Record<string, string> = {}): Promise<Namespace> {
  const id = `${kind}${randomBytes(3).toString('hex')}`;
  const apiKey = `${id}-${randomBytes(12).toString('hex')}`;
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TESSERA_TOPIC_EVENTS: `${kind}.${id}.events`,
    TESSERA_TOPIC_DLQ: `${kind}.${id}.dlq`,
    TESSERA_REDIS_PREFIX: id,
    TESSERA_CLICKHOUSE_DB: `tessera_${id}`,
    TESSERA_API_PORT: String(apiPort),
    TESSERA_API_KEYS: `${kind}:${apiKey}:read+admin`,
    TESSERA_ONLINE_GROUP: `${id}-online`,
    TESSERA_OFFLINE_GROUP: `${id}-offline`,
    TESSERA_METRICS_PORT: '0',
    TESSERA_LOG_LEVEL: process.env.TESSERA_LOG_LEVEL ?? 'warn',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ...extra,
  };
  const config = loadConfig(env);
  await ensureTopics(config);
  await ensureDatabase(config);
  return {
    id, config, env, apiKey,
    apiUrl: `http://127.0.0.1:${apiPort}/graphql`,
    groups: config.groups,
    logDir: path.join(config.dataDir, kind, id),
  };
}

/** Removes the topics, the Redis keys under the prefix (BullMQ's included) and the database. */
export async function removeNamespace(ns: Namespace): Promise<void> {
  const { config } = ns;
  const redis = createRedis(config);
  try {
    await deletePrefix(redis, config.redis.prefix);
  } finally {
    redis.disconnect();
  }
  const admin = createKafka(config, 'namespace-admin').admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.topics.events, config.topics.dlq] }).catch(() => undefined);
  await admin.deleteGroups([ns.groups.online, ns.groups.offline]).catch(() => undefined);
  await admin.disconnect();
  const ch = createClickHouse(config, { database: null });
  try {
    await execute(ch, sql`DROP DATABASE IF EXISTS ${ident(config.clickhouse.database)}`);
  } finally {
    await ch.close();
  }
}
