// GraphiQL in a real browser: Debian's chromium, driven by playwright-core (no browser
// download), opens the GraphiQL page the API serves in development mode, types a
// `features` query into the editor, clicks the run button and sees the values of tiles
// written to the real Redis (private prefix) through the real write path. No request may
// leave loopback (GraphiQL's assets are inline). On a fresh machine (CI runs as root) the
// test installs chromium from apt first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { chromium, type BrowserContext } from 'playwright-core';
import type { ClickEvent } from '../core/event.js';
import type { FeatureValue } from '../core/features/definition.js';
import { createRegistry } from '../core/features/registry.js';
import { createRedis } from '../store/redis-client.js';
import type { OfflineSource } from './sources.js';
import { acceptedEvents, dropPrefix, referenceOf, startTestApi, testConfig, testPrefix, writeTiles, type TestApi } from './test-support.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const NAMES = ['user_views_24h', 'user_last_5_items'] as const;

/** Installs Debian's chromium when it is missing (a fresh CI machine; needs root). */
function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing and this is not root: run apt-get install -y chromium`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    console.log(`installing chromium: apt-get ${args.join(' ')}`);
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env, timeout: 15 * 60_000 });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (status ${r.status}, ${r.error?.message ?? r.signal ?? ''})`);
  }
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} after apt-get install chromium`);
}

const registry = createRegistry({ latenessMs: 10 * 60_000 });
const prefix = testPrefix('giql');
const NOW = Date.now();
let redis: Redis;
let t: TestApi;
let accepted: ClickEvent[];
let expected: ReturnType<typeof referenceOf>;
let userId: string;
let profile: string;
let browser: BrowserContext;
const offlineCalls: string[] = [];

/** Latest reads never need ClickHouse; a call here is a routing bug. */
const offline: OfflineSource = {
  async features(entity, ids) {
    offlineCalls.push(`${entity}:${ids.join(',')}`);
    throw new Error('latest reads must not go offline');
  },
};

before(async () => {
  ensureChromium();
  accepted = acceptedEvents('api-graphiql', NOW - 2 * 3600_000, 2 * 3600 - 120, { users: 6, items: 25, rate: 0.5 });
  expected = referenceOf(registry, accepted);
  // The busiest user: non-trivial values for every name queried.
  const views = new Map<string, number>();
  for (const e of accepted) if (e.event_type === 'view') views.set(e.user_id, (views.get(e.user_id) ?? 0) + 1);
  userId = [...views.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? assert.fail('no views generated');
  redis = createRedis(testConfig());
  await writeTiles(redis, prefix, registry, accepted);
  // The published development read key: GraphiQL's default headers carry it (server.ts).
  t = await startTestApi({ config: testConfig({ TESSERA_API_KEYS: 'dev:dev-read-key:read' }), registry, prefix, offline });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 },
  });
});

after(async () => {
  await browser?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await t?.stop();
  if (redis) {
    await dropPrefix(redis, prefix);
    await redis.quit();
  }
});

/** Whitespace-free text, so a pretty-printed JSON pane can be matched against compact JSON. */
const squash = (s: string): string => s.replace(/\s+/g, '');

test('GraphiQL in chromium: type a features query, run it, see the values Redis holds', async () => {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000); // a 9 MB page (GraphiQL inline) on a busy CI machine
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'blob:' || url.protocol === 'data:' || url.hostname === '127.0.0.1') return route.continue();
    external.push(url.href);
    return route.abort();
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await page.goto(`${t.url}/graphql`);
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.waitFor({ state: 'visible', timeout: 60_000 });
  // Replace the default query by typing (delete first: typing `{` over a selection would surround it).
  const query = `{ features(entity: "user", ids: ["${userId}"], names: [${NAMES.map((n) => `"${n}"`).join(', ')}]) { id asOf source values } }`;
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(query);
  await page.waitForFunction((q) => (document.querySelector('.graphiql-query-editor')?.textContent ?? '').replace(/\s+/g, '').includes(q), squash(query));

  const responded = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes(userId));
  await page.locator('button.graphiql-execute-button').click();
  const response = await responded;
  assert.equal(response.status(), 200);
  const body = (await response.json()) as { data?: { features: { id: string; asOf: string; source: string; values: Record<string, FeatureValue> }[] }; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const row = body.data?.features[0] ?? assert.fail(`no row: ${JSON.stringify(body)}`);
  assert.equal(row.id, userId);
  assert.equal(row.source, 'redis');
  const T = Date.parse(row.asOf);
  assert.ok(Math.abs(T - Date.now()) < 120_000, 'asOf omitted means now');
  for (const n of NAMES) assert.deepEqual(row.values[n], expected('user', userId, n, T), `${n} of ${userId} equals the reference`);
  assert.ok((row.values.user_views_24h as number) > 0, 'a non-trivial count');
  assert.ok(Array.isArray(row.values.user_last_5_items) && row.values.user_last_5_items.length > 0, 'a non-empty list');

  // What the user sees: the result pane shows the same values.
  const pane = page.locator('.graphiql-response');
  const want = NAMES.map((n) => `"${n}":${JSON.stringify(row.values[n])}`);
  let shown = '';
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await page.waitForTimeout(100)) {
    shown = squash(await pane.innerText());
    if (want.every((w) => shown.includes(w))) break;
  }
  for (const w of want) assert.ok(shown.includes(w), `result pane shows ${w}; it shows ${shown.slice(0, 400)}`);
  assert.ok(shown.includes(`"id":"${userId}"`));

  const shot = path.join(os.tmpdir(), `tessera-graphiql-${prefix}.png`); // kept for a look
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000, 'a screenshot was taken');
  console.log(`GraphiQL showed ${want.join(', ')} for ${userId}; screenshot ${shot}`);

  assert.deepEqual(external, [], 'no request left loopback');
  assert.deepEqual(pageErrors, [], 'no uncaught page error');
  assert.deepEqual(offlineCalls, []);
  await page.close();
});
