// A tiny HTTP server exposing worker metrics in Prometheus text format at /metrics.
import http from 'node:http';
import type { Registry } from 'prom-client';

/** host: 127.0.0.1 by default; containers set TESSERA_METRICS_HOST=0.0.0.0 so Prometheus can scrape. */
export function serveMetrics(port: number, registries: Registry[], host = '127.0.0.1'): http.Server {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found; try /metrics\n');
      return;
    }
    Promise.all(registries.map((r) => r.metrics()))
      .then((texts) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(texts.join('\n')))
      .catch((err: Error) => res.writeHead(500).end(err.message));
  });
  server.listen(port, host);
  return server;
}
