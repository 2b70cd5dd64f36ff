// The serve benchmark's floor: a minimal HTTP server in its own process that answers every
// POST with a fixed body (the API's own response to the same request shape), measured by
// the same client at the same rates as the API. What it shows is what this machine, the
// loopback and the load generator add to any server's latency: the API's p99 cannot be
// judged below it (BENCHMARKS.md, "Serving": the floor).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../stack/process.js';
import { buildPost, HttpPool } from './http-post.js';
import type { Send } from './load.js';
import { sleep } from './support.js';

// Plain node:http, no framework: reads the request to its end, answers with the body.
const SERVER = `
const http = require('node:http');
const body = require('node:fs').readFileSync(process.env.ECHO_BODY_FILE);
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/graphql-response+json', 'content-length': body.length });
    res.end(body);
  });
});
// The client keeps its connections open for the whole run: never time them out.
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.listen(Number(process.env.ECHO_PORT), '127.0.0.1', () => process.send && process.send('ready'));
`;

export interface EchoServer {
  send: Send<unknown>;
  port: number;
  /** the request `send` posts */
  request: Buffer;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the echo process with `body` as its answer; `send` posts a request of `requestBytes` bytes. */
export async function startEcho(body: string, requestBytes: number): Promise<EchoServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-echo-'));
  const file = path.join(dir, 'body.json');
  fs.writeFileSync(file, body);
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ECHO_BODY_FILE: file, ECHO_PORT: String(port) } });
  await Promise.race([
    new Promise<void>((resolve) => child.once('message', () => resolve())),
    sleep(10_000).then(() => { throw new Error('the echo server did not start in 10 s'); }),
  ]);
  const pool = new HttpPool('127.0.0.1', port);
  const request = buildPost('127.0.0.1', port, '/graphql', { 'content-type': 'application/json' }, 'x'.repeat(requestBytes));
  return {
    child,
    port,
    request,
    send: async () => {
      const { status } = await pool.post(request);
      return status === 200 ? null : `HTTP ${status}`;
    },
    async stop() {
      pool.close();
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3_000)]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
