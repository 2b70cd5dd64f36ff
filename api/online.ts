// The API's Redis connection: fail fast instead of queueing. Commands are refused at once
// while disconnected (no offline queue), time out after redisCommandTimeoutMs, and the
// client keeps reconnecting in the background, so a request during a Redis outage gets
// STORE_UNAVAILABLE in milliseconds and the first one after recovery succeeds.
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { createRedis } from '../store/redis-client.js';
import { ApiError } from './errors.js';

export function createApiRedis(config: Config, commandTimeoutMs: number): Redis {
  return createRedis(config, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 500),
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    lazyConnect: false,
  });
}

/** Tracks the last connection error of a client (for messages) without crashing on 'error'. */
export function watchRedis(redis: Redis, onError: (message: string) => void): { lastError: () => string | undefined } {
  let last: string | undefined;
  let reported: string | undefined;
  redis.on('error', (err: Error) => {
    last = err.message || err.name;
    if (last !== reported) onError(last); // once per distinct error, not once per retry
    reported = last;
  });
  redis.on('ready', () => {
    last = undefined;
    reported = undefined;
  });
  return { lastError: () => last };
}

const where = (redis: Redis): string => `${redis.options.host ?? '?'}:${redis.options.port ?? '?'}`;

/**
 * Resolves when the client is ready. While its first connection attempt is in flight it
 * waits for the outcome (bounded by waitMs); otherwise a disconnected client fails at once.
 */
export async function ensureRedisReady(redis: Redis, waitMs: number, lastError?: () => string | undefined): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  if (redis.status === 'wait' || redis.status === 'connecting' || redis.status === 'connect') {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        redis.off('error', done);
        redis.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      redis.once('ready', done);
      redis.once('error', done);
      redis.once('end', done);
    });
  }
  if ((redis.status as string) !== 'ready') {
    const why = lastError?.() ?? `connection ${redis.status}`;
    throw new ApiError('STORE_UNAVAILABLE', `online store (Redis at ${where(redis)}) is unavailable: ${why}`);
  }
}

/** null when Redis answers PING, else why not. */
export async function redisProblem(redis: Redis, waitMs: number, lastError?: () => string | undefined): Promise<string | null> {
  try {
    await ensureRedisReady(redis, waitMs, lastError);
    await redis.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
