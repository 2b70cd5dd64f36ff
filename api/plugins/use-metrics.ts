// /metrics (Prometheus text) plus what the API measures itself: latency of GraphQL HTTP
// requests by status, and every error returned by its extensions.code.
import type { Plugin } from 'graphql-yoga';
import { codeOf } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';

export interface UseMetricsOptions {
  metrics: ApiMetrics;
  graphqlEndpoint: string;
  endpoint?: string;
  /** what /metrics serves (default: this process's registry; API workers: the whole cluster's) */
  text?: () => Promise<string>;
}

export function useMetrics(options: UseMetricsOptions): Plugin {
  const { metrics } = options;
  const endpoint = options.endpoint ?? '/metrics';
  const text = options.text ?? (() => metrics.registry.metrics());
  const started = new WeakMap<Request, number>();
  return {
    // Synchronous for every path but /metrics: an async hook would cost every GraphQL
    // request a promise and a microtask hop in yoga's request pipeline.
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname === options.graphqlEndpoint) started.set(request, performance.now());
      else if (url.pathname === endpoint) {
        return text().then(
          (body) => endResponse(new fetchAPI.Response(body, { headers: { 'content-type': metrics.registry.contentType } })),
          (err: Error) => endResponse(new fetchAPI.Response(`${err.message}\n`, { status: 503, headers: { 'content-type': 'text/plain' } })),
        );
      }
      return undefined;
    },
    onResultProcess({ result }) {
      for (const r of Array.isArray(result) ? result : [result]) {
        for (const error of ('errors' in r ? r.errors : undefined) ?? []) metrics.errors.inc({ code: codeOf(error) });
      }
    },
    onResponse({ request, response }) {
      const t0 = started.get(request);
      if (t0 !== undefined) metrics.requestSeconds.observe({ status: String(response.status) }, (performance.now() - t0) / 1000);
    },
  };
}
