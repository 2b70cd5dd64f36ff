// The soak's samples as CSV: one row per sample, the wall clock, elapsed seconds, event time,
// then one column per curve (bytes and counts as plain integers; empty = not measured).
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { CURVES } from './soak-curves.js';
import type { SoakSample } from './soak-sampler.js';

export const CSV_COLUMNS = ['time', 'elapsed_s', 'event_time', ...CURVES.map((c) => c.name)];

export function samplesToCsv(samples: readonly SoakSample[]): string {
  const rows = samples.map((s) => [
    new Date(s.at).toISOString(), s.elapsedS, new Date(s.eventTime).toISOString(),
    ...CURVES.map((c) => { const v = c.value(s); return Number.isFinite(v) ? Math.round(v) : ''; }),
  ]);
  return stringify([CSV_COLUMNS, ...rows]);
}

export function writeCsv(file: string, samples: readonly SoakSample[]): void {
  fs.writeFileSync(file, samplesToCsv(samples));
}

/** The samples back from a soak CSV (for re-plotting a finished run and for tests). */
export function csvToSamples(text: string): SoakSample[] {
  const rows = parse(text, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  const n = (r: Record<string, string>, k: string) => (r[k] === undefined || r[k] === '' ? NaN : Number(r[k]));
  return rows.map((r) => {
    const keys = n(r, 'redis_keys');
    const tiles = n(r, 'redis_tile_keys');
    const bull = n(r, 'redis_bull_keys');
    return {
      at: Date.parse(r.time ?? ''), elapsedS: n(r, 'elapsed_s'), eventTime: Date.parse(r.event_time ?? ''),
      sent: n(r, 'events_sent'), rate: n(r, 'events_per_s'),
      rss: { online: n(r, 'rss_online'), offline: n(r, 'rss_offline'), api: n(r, 'rss_api'), jobs: n(r, 'rss_jobs') },
      redisUsedMemory: n(r, 'redis_used_memory'), redisNamespaceBytes: n(r, 'redis_namespace_bytes'),
      redisKeys: { tiles, bull, other: keys - tiles - bull },
      lag: { online: n(r, 'lag_online'), offline: n(r, 'lag_offline') },
      apiRequests: n(r, 'api_requests'), apiErrors: n(r, 'api_errors'),
    };
  });
}
