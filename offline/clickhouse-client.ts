// The one place that opens ClickHouse connections. ClickHouse 18.16 (local) and current
// ClickHouse (docker-compose) both speak this HTTP interface.
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config/config.js';

export function createClickHouse(config: Config, opts: { database?: string | null; requestTimeoutMs?: number } = {}): ClickHouseClient {
  const database = opts.database === null ? undefined : (opts.database ?? config.clickhouse.database);
  return createClient({
    url: config.clickhouse.url,
    database,
    request_timeout: opts.requestTimeoutMs ?? 120_000,
    compression: { request: false, response: false },
    max_open_connections: 10,
    // Failures surface as exceptions to the caller; the client's own console logging would duplicate them.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/** true when ClickHouse answers /ping at url. */
export async function pingClickHouse(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(2_000) });
    return res.ok && (await res.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

export async function ensureDatabase(config: Config): Promise<void> {
  const client = createClickHouse(config, { database: null });
  try {
    // The name is validated by the config schema ([A-Za-z_][A-Za-z0-9_]*), so it is safe as an identifier.
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.clickhouse.database}` });
  } finally {
    await client.close();
  }
}
