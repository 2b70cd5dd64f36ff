// Sends one fuzz request and reports what came back, for the API fuzz suite. node:http
// (not fetch) so any method, path and body can be sent; what node:http itself refuses to
// send (a NUL in a header, an unescaped path) and the raw cases go over a plain socket,
// where only the status line is read.
import http from 'node:http';
import net from 'node:net';
import type { FuzzRequest } from './requests.js';

export interface FuzzResponse {
  /** 0 when the server closed the connection without an answer */
  status: number;
  contentType: string;
  body: string;
  /** 'timeout' when nothing came back in time */
  error?: string;
}

function viaSocket(port: number, raw: Buffer, timeoutMs: number): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.end(raw));
    const done = (error?: string) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const head = text.split('\r\n\r\n')[0] ?? '';
      resolve({ status, contentType: /content-type: *([^\r\n]*)/i.exec(head)?.[1] ?? '', body: text.slice(head.length + 4), ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => done());
    socket.on('error', () => done());
  });
}

function rawOf(req: FuzzRequest): Buffer {
  const body = Buffer.from(req.body ?? '', 'utf8');
  const headers = Object.entries({ host: '127.0.0.1', connection: 'close', 'content-length': String(body.length), ...req.headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.concat([Buffer.from(`${req.method} ${req.path} HTTP/1.1\r\n${headers}\r\n`, 'utf8'), body]);
}

export function send(port: number, req: FuzzRequest, timeoutMs: number): Promise<FuzzResponse> {
  if (req.raw !== undefined) return viaSocket(port, req.raw, timeoutMs);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: FuzzResponse) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    let request: http.ClientRequest;
    try {
      request = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => finish({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
      });
    } catch {
      // node:http refuses to send it (invalid header or path characters): send the bytes as they are.
      void viaSocket(port, rawOf(req), timeoutMs).then(finish);
      return;
    }
    request.on('timeout', () => {
      finish({ status: 0, contentType: '', body: '', error: 'timeout' });
      request.destroy();
    });
    request.on('error', () => finish({ status: 0, contentType: '', body: '' }));
    if (req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD') request.end(req.body);
    else request.end();
  });
}
