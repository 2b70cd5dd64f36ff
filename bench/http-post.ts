// A lean HTTP/1.1 POST client for load generation: keep-alive sockets, a request written as
// one pre-built buffer, the response framed by its Content-Length. The load generator runs
// on the same two cores as the server it measures, so its own CPU per request is kept
// small: node:http's client (llhttp, IncomingMessage streams, header objects) cost several
// times more per request, and that time was taken from the server under test.
import net from 'node:net';

export interface HttpReply {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** One request's bytes: request line, headers (Content-Length included) and body. */
export function buildPost(host: string, port: number, path: string, headers: Record<string, string>, body: string): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const head = [`POST ${path} HTTP/1.1`, `host: ${host}:${port}`, 'connection: keep-alive', `content-length: ${payload.length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** A keep-alive connection: one request at a time. */
class Connection {
  private chunks: Buffer[] = [];
  private size = 0;
  private pending: { resolve: (r: HttpReply) => void; reject: (e: Error) => void } | undefined;
  closed = false;

  constructor(private readonly socket: net.Socket, private readonly onIdle: (c: Connection) => void) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    const fail = (err: Error) => {
      this.closed = true;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(Object.assign(new Error('connection closed by the server'), { name: 'ECONNRESET' })));
  }

  send(request: Buffer): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  private data(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const all = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.size);
    const end = all.indexOf(HEADER_END);
    if (end < 0) return;
    const head = all.toString('latin1', 0, end);
    const length = CONTENT_LENGTH.exec(head);
    if (length === null) {
      this.socket.destroy(new Error('response without Content-Length'));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (all.length < total) {
      this.chunks = [all];
      return;
    }
    this.chunks = [];
    this.size = 0;
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ status: Number(head.slice(9, 12)), body: all.toString('utf8', end + 4, total) });
    this.onIdle(this);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** A pool of keep-alive connections to one server; `post` opens one when none is idle. */
export class HttpPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();

  constructor(private readonly host: string, private readonly port: number) {}

  async post(request: Buffer): Promise<HttpReply> {
    let conn = this.idle.pop();
    while (conn !== undefined && conn.closed) conn = this.idle.pop();
    conn ??= await this.open();
    return conn.send(request);
  }

  private open(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const conn = new Connection(socket, (c) => {
          if (!c.closed) this.idle.push(c);
        });
        this.all.add(conn);
        resolve(conn);
      });
    });
  }

  close(): void {
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
  }
}
