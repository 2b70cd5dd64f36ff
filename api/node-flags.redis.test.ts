// A production `tessera run --api` re-runs itself once with the API's V8 heap flags
// (bin/api-node-flags.js) as a real process tree: the child serves, SIGTERM to the parent
// stops both (exit 0), a SIGKILLed parent does not leave the API running, and
// TESSERA_API_NODE_FLAGS='' (or flags the operator already gave) means no re-run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../config/config.js';
import { childPids, freePort, isAlive } from '../stack/process.js';
import { testPrefix } from './test-support.js';

const KEY = 'node-flags-test-read-key';

async function waitFor(what: string, ms: number, ok: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `tessera run --api` in production mode, ready; with node flags `nodeArgs` and extra env. */
async function startApi(nodeArgs: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; exited: Promise<number | null> }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'bin', 'tessera.js'), 'run', '--api'], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env, TESSERA_MODE: 'production', TESSERA_API_PORT: String(port), TESSERA_API_KEYS: `test:${KEY}:read`,
      TESSERA_REDIS_PREFIX: testPrefix('flags'), TESSERA_LOG_LEVEL: 'error', ...env,
    },
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the API', 60_000, () => fetch(`${url}/ready`).then((r) => r.ok, () => false));
  return { proc, url, exited };
}

const cmdline = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

test('the production API re-runs itself with its heap flags; SIGTERM stops both processes', async () => {
  const { proc, url, exited } = await startApi([]);
  try {
    const children = childPids(proc.pid as number);
    assert.equal(children.length, 1);
    const child = children[0] as number;
    assert.ok(cmdline(child).includes('--max-semi-space-size=64'), cmdline(child).join(' '));
    assert.ok(cmdline(child).includes('--no-parallel-scavenge'));
    assert.ok(!cmdline(proc.pid as number).includes('--no-parallel-scavenge'));
    assert.ok(cmdline(child).includes('--expose-gc'));
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ query: '{ __typename }' }) });
    assert.deepEqual(await res.json(), { data: { __typename: 'Query' } });
    // Requests one at a time leave idle gaps: the API scavenges in them (api/idle-scavenge.ts).
    const idleScavenges = async (): Promise<number> => Number(/^tessera_api_idle_scavenges_total (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? -1);
    const before = await idleScavenges();
    assert.ok(before >= 0, 'the counter is exported');
    for (let i = 0; i < 300 && (await idleScavenges()) === before; i++) {
      await (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ query: `{ a${i}: __typename }` }) })).text();
    }
    assert.ok((await idleScavenges()) > before, 'no idle scavenge after 300 requests one at a time');
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    await waitFor('the child to stop', 15_000, () => !isAlive(child));
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
});

test('a SIGKILLed parent does not leave the re-run API serving', async () => {
  const { proc, url } = await startApi([]);
  const [child] = childPids(proc.pid as number);
  assert.ok(child !== undefined);
  proc.kill('SIGKILL');
  await waitFor('the orphaned API to stop', 20_000, () => !isAlive(child));
  assert.equal(await fetch(`${url}/ready`).then((r) => r.ok, () => false), false);
});

test("no re-run when the operator chose: TESSERA_API_NODE_FLAGS='' or a heap flag already given", async () => {
  for (const [args, env] of [[[], { TESSERA_API_NODE_FLAGS: '' }], [['--max-semi-space-size=32'], {}]] as const) {
    const { proc, exited } = await startApi([...args], { ...env });
    try {
      assert.deepEqual(childPids(proc.pid as number), [], `${args.join(' ')} ${JSON.stringify(env)}`);
      proc.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  }
});
