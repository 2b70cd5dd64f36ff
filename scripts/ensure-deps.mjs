#!/usr/bin/env node
// `predemo` / `pretest`: on a fresh clone, install the npm dependencies first (npm ci), so
// `npm run demo` and `npm test` are the only two commands a new user needs. Plain Node, no
// dependencies of its own. Skips when node_modules is up to date with package-lock.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
const fresh = fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs;
if (!fresh) {
  console.error('installing npm dependencies (npm ci) ...');
  const res = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
