import { loadConfig } from '../config/config.js';
import { createApi } from './server.js';
const config = loadConfig({ ...process.env, TESSERA_LOG_LEVEL: 'warn', TESSERA_REDIS_URL: 'redis://127.0.0.1:1', TESSERA_CLICKHOUSE_URL: 'http://127.0.0.1:2' });
const api = createApi({ config });
const port = await api.start(0, '127.0.0.1');
const url = `http://127.0.0.1:${port}`;
async function q(query: string, key?: string) {
  const t0 = performance.now();
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify({ query }) });
  console.log(res.status, (performance.now() - t0).toFixed(1), 'ms', (await res.text()).slice(0, 300));
}
for (let i = 0; i < 3; i++) await q('{ features(entity: "user", ids: ["u1","u2"], names: ["user_views_1h"]) { id source values } }', 'dev-read-key');
await q('{ x }');
await new Promise((r) => setTimeout(r, 1500));
await q('{ features(entity: "user", ids: ["u1","u2"], names: ["user_views_1h"]) { id source values } }', 'dev-read-key');
for (const p of ['/health', '/ready']) { const t0 = performance.now(); const r = await fetch(url + p); console.log(p, r.status, (performance.now() - t0).toFixed(1), (await r.text()).slice(0, 200)); }
const m = await (await fetch(url + '/metrics')).text(); console.log(m.split('\n').filter((l) => l.startsWith('tessera_api_errors') || l.startsWith('tessera_api_request_duration_seconds_count') || l.startsWith('tessera_api_requests_total')).join('\n'));
await api.stop();
