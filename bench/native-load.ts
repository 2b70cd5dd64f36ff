// The serve benchmark's second load generator: bench/native/loadgen.c, an open-loop HTTP
// client in C (wrk2's method: an absolute timer per send, latency from the scheduled time).
// Built here with the machine's C compiler on first use, cached by the source's hash; on a
// machine without one the native runs are skipped and the report says so.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { failed, newSamples, type Samples } from './load.js';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'native', 'loadgen.c');

/** The compiled load generator's path, or an Error saying why there is none. */
export function buildLoadgen(): string | Error {
  const source = fs.readFileSync(SOURCE);
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 12);
  const bin = path.join(os.tmpdir(), `tessera-loadgen-${hash}`);
  if (fs.existsSync(bin)) return bin;
  const cc = process.env.CC ?? 'cc';
  try {
    const tmp = `${bin}.${process.pid}`;
    execFileSync(cc, ['-O2', '-o', tmp, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.renameSync(tmp, bin);
    return bin;
  } catch (e) {
    return new Error(`could not build the native load generator with ${cc}: ${(e as Error).message.split('\n')[0]}`);
  }
}

export interface NativeSamples extends Samples {
  /** CPU seconds the load generator used (its own getrusage) */
  clientCpuSeconds: number;
}

/** Codes the generator reports per reply (see loadgen.c), as the Node client names them. */
const codeName = (code: number): string | null => (code === 0 ? null : code === 1 ? 'GRAPHQL_ERRORS' : code === 2 ? 'ECONNRESET' : `HTTP ${code}`);

/**
 * `rate` requests/s for `seconds` to 127.0.0.1:`port`, cycling through `requests` (whole
 * HTTP/1.1 requests with Content-Length); the same Samples as load.ts fixedRate.
 */
export async function nativeFixedRate(bin: string, port: number, requests: readonly Buffer[], rate: number, seconds: number): Promise<NativeSamples> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-loadgen-run-'));
  try {
    const reqFile = path.join(dir, 'requests.bin');
    const outFile = path.join(dir, 'out.txt');
    const parts: Buffer[] = [];
    for (const r of requests) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(r.length);
      parts.push(len, r);
    }
    fs.writeFileSync(reqFile, Buffer.concat(parts));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(bin, ['127.0.0.1', String(port), String(rate), String(seconds), reqFile, outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the native load generator exited with ${code}: ${stderr.trim()}`))));
    });
    const [head = '', ...lines] = fs.readFileSync(outFile, 'utf8').trim().split('\n');
    const [issued, completed, dropped, , secs, cpu] = head.split(' ').map(Number);
    const s: NativeSamples = { ...newSamples(secs ?? seconds), issued: issued ?? 0, completed: completed ?? 0, dropped: dropped ?? 0, clientCpuSeconds: cpu ?? NaN };
    for (const line of lines) {
      const [latency = NaN, service = NaN, lag = NaN, code = 0] = line.split(' ').map(Number);
      s.latency.push(latency);
      if (service < 0) continue; // unanswered: counted with its latency so far
      s.service.push(service);
      s.lag.push(lag);
      failed(s, codeName(code));
    }
    return s;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
