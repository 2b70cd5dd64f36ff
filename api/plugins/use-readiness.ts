// /ready: 200 when the online store (Redis) answers PING quickly, 503 otherwise, for load
// balancers and `tessera status`. (/health, process up, is yoga's built-in check.)
import type { Plugin } from 'graphql-yoga';

export function useReadiness(options: { endpoint?: string; check: () => Promise<string | null> }): Plugin {
  const endpoint = options.endpoint ?? '/ready';
  return {
    // Synchronous for every other path (see use-metrics.ts).
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint) return undefined;
      return options.check().catch((error: unknown) => (error instanceof Error ? error.message : String(error))).then((problem) => {
        endResponse(new fetchAPI.Response(JSON.stringify(problem === null ? { status: 'ready' } : { status: 'unavailable', reason: problem }), {
          status: problem === null ? 200 : 503,
          headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
        }));
      });
    },
  };
}
