// Bearer API keys (DESIGN §6). The key is checked when a GraphQL request arrives, before
// its body is parsed (401 for a missing, malformed or unknown key); the scope when the
// operation is known, before any resolver runs (403): queries need `read`, mutations
// `admin`. GraphiQL's page, /health, /ready and /metrics are not GraphQL requests.
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { authenticate, requireScope, type KeyRing, type Principal } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { ApiMetrics } from '../metrics.js';

export function useAuth(options: { keys: KeyRing; metrics?: ApiMetrics }): Plugin<ApiContext> {
  const principals = new WeakMap<Request, Principal>();
  return {
    onRequestParse({ request }) {
      principals.set(request, authenticate(options.keys, request.headers.get('authorization')));
    },
    onContextBuilding({ context, extendContext }) {
      extendContext({ principal: principals.get(context.request) });
    },
    onExecute({ args }) {
      const ctx = args.contextValue as ApiContext;
      const principal = ctx.principal ?? authenticate(options.keys, ctx.request.headers.get('authorization'));
      const kind = getOperationAST(args.document, args.operationName)?.operation ?? 'query';
      requireScope(principal, kind === 'mutation' ? 'admin' : 'read', kind === 'mutation' ? 'mutations' : 'queries');
      options.metrics?.requestsByKey.inc({ key: principal.name, operation: kind });
    },
  };
}
