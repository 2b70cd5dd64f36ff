// `npm test`: brings the local stack up (tessera up), then runs every *.test.ts with
// node's test runner. Pure tests and service tests run in the same pass; service tests
// are named *.kafka.test.ts, *.redis.test.ts, *.clickhouse.test.ts. The chaos suite
// (*.chaos.test.ts) stops and starts the stack's services, so it runs in a second pass,
// alone, after everything else.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { up } from '../stack/stack.js';

const SKIP_DIRS = new Set(['node_modules', '.tessera', '.git', 'dist']);

function findTests(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(full, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(PROJECT_ROOT, full));
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = findTests(PROJECT_ROOT).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const needsServices = files.some((f) => /\.(kafka|redis|clickhouse|stack|e2e|chaos)\.test\.ts$/.test(f));
if (needsServices) {
  const t0 = Date.now();
  const results = await up(loadConfig(), (m) => console.log(`[stack] ${m}`));
  console.log(`[stack] ${results.map((r) => `${r.service}: ${r.outcome}`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function runFiles(list: string[]): number {
  if (list.length === 0) return 0;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...list], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, TESSERA_LOG_LEVEL: process.env.TESSERA_LOG_LEVEL ?? 'warn', KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  return res.status ?? 1;
}

const isChaos = (f: string): boolean => f.endsWith('.chaos.test.ts');
const first = runFiles(files.filter((f) => !isChaos(f)));
const second = runFiles(files.filter(isChaos));
process.exit(first !== 0 ? first : second);
