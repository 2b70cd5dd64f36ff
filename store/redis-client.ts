// The one place that opens Redis connections (tiles, BullMQ, tests).
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';

export function createRedis(config: Config, overrides: RedisOptions = {}): Redis {
  return new Redis(config.redis.url, {
    // Fail fast instead of queueing forever while Redis is down: callers pause and retry.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2_000,
    lazyConnect: false,
    ...overrides,
  });
}

/** true when a Redis answers PING at url within a second. */
export async function pingRedis(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Deletes (UNLINK) every key under `<prefix>:` (a test's, a chaos or soak run's private prefix). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
