// The demo's status line, every few seconds: events/s produced, consumer lag of the online
// and offline groups, freshness p99 (the online worker's watermark delay, the largest over
// partitions, sampled 4 times a second while the stream flows: the demo stamps events with
// the wall clock, so it is the age of the newest applied event), rows
// per part the sink created, and the last consistency-check result.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Config } from '../../config/config.js';
import { EVENTS_TABLE } from '../../offline/events-table.js';
import { selectRows } from '../../offline/query.js';
import { sql, str, uint64 } from '../../offline/sql.js';

export interface StatusSources {
  config: Config;
  admin: Admin;
  clickhouse: ClickHouseClient;
  online: MetricsRegistry;
  jobs: MetricsRegistry;
  produced: () => number;
  /** freshness is sampled only while the stream flows (an idle partition's delay just grows) */
  streaming: () => boolean;
  groups: { online: string; offline: string };
  startedAt: number;
}

async function gauge(reg: MetricsRegistry, name: string, combine: 'sum' | 'max' = 'sum'): Promise<number | undefined> {
  const values = (await reg.getSingleMetric(name)?.get())?.values ?? [];
  if (values.length === 0) return undefined;
  return combine === 'max' ? Math.max(...values.map((v) => v.value)) : values.reduce((a, v) => a + v.value, 0);
}

async function lag(s: StatusSources, groupId: string): Promise<number> {
  const topic = s.config.topics.events;
  const [ends, committed] = await Promise.all([s.admin.fetchTopicOffsets(topic), s.admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0)), 0);
}

async function rowsPerPart(s: StatusSources): Promise<{ parts: number; avg: number }> {
  const [r] = await selectRows<{ parts: string; rows: string }>(s.clickhouse, sql`
    SELECT toString(count()) AS parts, toString(sum(rows)) AS rows FROM system.parts
    WHERE database = ${str(s.config.clickhouse.database)} AND table = ${str(EVENTS_TABLE)} AND level = 0
      AND modification_time >= toDateTime(${uint64(Math.floor(s.startedAt / 1000))})`);
  const parts = Number(r?.parts ?? 0);
  return { parts, avg: parts === 0 ? 0 : Math.round(Number(r?.rows ?? 0) / parts) };
}

export function startStatusLine(s: StatusSources, everyMs = 3_000): { stop(): void } {
  const delays: number[] = [];
  const sampler = setInterval(() => {
    if (!s.streaming()) return;
    void gauge(s.online, 'tessera_online_watermark_delay_seconds', 'max').then((d) => {
      if (d !== undefined) delays.push(d);
      if (delays.length > 40) delays.shift();
    });
  }, 250);
  let lastProduced = 0;
  let lastAt = Date.now();
  const ticker = setInterval(() => {
    void (async () => {
      const now = Date.now();
      const produced = s.produced();
      const rate = Math.round(((produced - lastProduced) * 1000) / (now - lastAt));
      lastProduced = produced;
      lastAt = now;
      const [onlineLag, offlineLag, parts, skew, compared] = await Promise.all([
        lag(s, s.groups.online), lag(s, s.groups.offline), rowsPerPart(s), gauge(s.jobs, 'tessera_skew_mismatches'), gauge(s.jobs, 'tessera_skew_compared'),
      ]);
      const sorted = [...delays].sort((a, b) => a - b);
      const p99 = sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number);
      console.log(`  ${new Date(now).toISOString().slice(11, 19)}  ${rate} events/s  lag online ${onlineLag} offline ${offlineLag}`
        + `  freshness p99 ${Number.isNaN(p99) ? '-' : `${Math.round(p99 * 1000)} ms`}  parts ${parts.parts} (avg ${parts.avg} rows)`
        + `  skew ${skew === undefined || compared === 0 ? 'not checked yet' : `${skew} mismatches / ${compared} values`}`);
    })().catch((e: Error) => console.log(`  status unavailable: ${e.message}`));
  }, everyMs);
  return { stop: () => { clearInterval(ticker); clearInterval(sampler); } };
}
