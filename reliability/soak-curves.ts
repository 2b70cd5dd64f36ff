// The curves of a soak run, named once: the CSV columns, the plot and the verdict all read
// them from here. `judged` curves decide the verdict; the others are shown for context.
import type { SoakSample } from './soak-sampler.js';
import { KEYS_RULE, REDIS_BYTES_RULE, RSS_RULE, type FlatnessRule } from './soak-verdict.js';

export interface Curve {
  /** CSV column and series name */
  name: string;
  label: string;
  unit: 'bytes' | 'count' | 'per_s';
  value: (s: SoakSample) => number;
  /** memory curves are plotted and judged */
  memory: boolean;
  rule?: FlatnessRule;
}

export const CURVES: readonly Curve[] = [
  { name: 'rss_online', label: 'online worker RSS', unit: 'bytes', value: (s) => s.rss.online, memory: true, rule: RSS_RULE },
  { name: 'rss_offline', label: 'offline sink RSS', unit: 'bytes', value: (s) => s.rss.offline, memory: true, rule: RSS_RULE },
  { name: 'rss_api', label: 'API RSS', unit: 'bytes', value: (s) => s.rss.api, memory: true, rule: RSS_RULE },
  { name: 'rss_jobs', label: 'jobs worker RSS', unit: 'bytes', value: (s) => s.rss.jobs, memory: true, rule: RSS_RULE },
  { name: 'redis_namespace_bytes', label: 'Redis, the run\'s keys (MEMORY USAGE)', unit: 'bytes', value: (s) => s.redisNamespaceBytes, memory: true, rule: REDIS_BYTES_RULE },
  // Instance-wide: other work on the same Redis moves it, so it is shown, not judged.
  { name: 'redis_used_memory', label: 'Redis used_memory (whole instance)', unit: 'bytes', value: (s) => s.redisUsedMemory, memory: true },
  { name: 'redis_keys', label: 'Redis keys of the run', unit: 'count', value: (s) => s.redisKeys.tiles + s.redisKeys.bull + s.redisKeys.other, memory: false, rule: KEYS_RULE },
  { name: 'redis_tile_keys', label: 'Redis tile and meta keys', unit: 'count', value: (s) => s.redisKeys.tiles, memory: false },
  { name: 'redis_bull_keys', label: 'Redis BullMQ keys', unit: 'count', value: (s) => s.redisKeys.bull, memory: false },
  { name: 'lag_online', label: 'online consumer lag', unit: 'count', value: (s) => s.lag.online, memory: false },
  { name: 'lag_offline', label: 'offline consumer lag', unit: 'count', value: (s) => s.lag.offline, memory: false },
  { name: 'events_sent', label: 'events sent', unit: 'count', value: (s) => s.sent, memory: false },
  { name: 'events_per_s', label: 'events/s', unit: 'per_s', value: (s) => s.rate, memory: false },
  { name: 'api_requests', label: 'API requests', unit: 'count', value: (s) => s.apiRequests, memory: false },
  { name: 'api_errors', label: 'API errors', unit: 'count', value: (s) => s.apiErrors, memory: false },
];

export const MiB = 1024 * 1024;

export function formatValue(c: Pick<Curve, 'unit'>, v: number): string {
  if (!Number.isFinite(v)) return '-';
  return c.unit === 'bytes' ? `${(v / MiB).toFixed(1)} MiB` : Math.round(v).toLocaleString('en-US');
}
