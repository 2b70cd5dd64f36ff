// /metrics (Prometheus text) plus what the API measures itself: latency of GraphQL HTTP
// requests by status, and every error returned by its extensions.code.
import type { Plugin } from 'graphql-yoga';
import { codeOf } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';

export function useMetrics(options: { metrics: ApiMetrics; graphqlEndpoint: string; endpoint?: string }): Plugin {
  const { metrics } = options;
  const endpoint = options.endpoint ?? '/metrics';
  const started = new WeakMap<Request, number>();
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname === endpoint) {
        endResponse(new fetchAPI.Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }));
      } else if (url.pathname === options.graphqlEndpoint) started.set(request, performance.now());
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
