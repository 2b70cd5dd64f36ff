// The fast lane: a query whose document graphql-yoga has already answered without errors
// is executed again directly, compiled by graphql-jit, with the same resolvers, skipping
// yoga's per-request machinery (whatwg-node's Request, Response and body streams,
// envelop's hooks, result processing). On these 2-core VMs that machinery costs ~0.7 ms
// of CPU per request at 500 requests/s, two thirds of a feature read (BENCHMARKS.md,
// "Serving (a): the fast lane").
//
// It answers only what yoga would answer the same way, byte for byte: a POST of JSON to
// the GraphQL path with a valid Content-Length under the body cap, an Accept it maps as
// yoga does, a key with the `read` scope, and a known query document (it passed yoga's
// parsing, validation and limits, which depend on the document alone). Whatever else
// arrives goes to yoga untouched; a request whose execution here ends in any error goes
// to yoga after its body was read, with its deadline, and yoga answers it from scratch
// (it runs the query again: queries only read; the rows of such a request count twice in
// tessera_api_feature_rows_total). Production mode only: development adds CORS,
// introspection and GraphiQL, which yoga alone handles.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getOperationAST, type DocumentNode, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { isAsyncIterable, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { authenticate, type KeyRing, type Principal } from './auth.js';
import type { ApiContext, FeatureContext } from './context.js';
import type { ApiMetrics } from './metrics.js';
import { CONTENT_LENGTH } from './plugins/use-body-limit.js';

export interface FastLaneOptions {
  /** the server that answers everything else (a getter: yoga is built with this lane's plugin) */
  yoga: () => YogaServerInstance<object, ApiContext>;
  graphqlEndpoint: string;
  keys: KeyRing;
  metrics: ApiMetrics;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** query documents kept compiled (least recently used dropped first; default 1,000) */
  maxDocuments?: number;
}

export interface FastLane {
  /** the node:http listener: the fast lane where it applies, yoga everywhere else */
  listener: RequestListener;
  /** a yoga plugin that records the query documents yoga answered without errors */
  plugin: Plugin<ApiContext>;
}

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

const JSON_TYPE = /^application\/json(;\s*charset=utf-8)?$/i;
const BODY_KEYS = new Set(['query', 'variables', 'operationName']);

/**
 * The response type yoga picks for an Accept header this lane handles, or undefined (yoga
 * decides). Only the forms tested against yoga (api/fast-lane.redis.test.ts).
 */
export function responseType(accept: string | undefined): string | undefined {
  if (accept === undefined) return undefined;
  const first = accept.split(',', 1)[0]?.trim().toLowerCase();
  if (first === 'application/graphql-response+json') return 'application/graphql-response+json; charset=utf-8';
  if (first === 'application/json') return 'application/json; charset=utf-8';
  return undefined;
}

/** The request's JSON body as GraphQL params when it has exactly their shape, else undefined. */
function paramsOf(body: string): Params | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const p = parsed as Record<string, unknown>;
  for (const k in p) if (!BODY_KEYS.has(k)) return undefined;
  const { query, variables, operationName } = p;
  if (typeof query !== 'string') return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  return { query, variables: variables as Params['variables'], operationName: operationName as Params['operationName'] };
}

const documentKey = (query: string, operationName: string | null | undefined): string => `${operationName ?? ''}\n${query}`;

export function createFastLane(options: FastLaneOptions): FastLane {
  const { metrics } = options;
  const maxDocuments = options.maxDocuments ?? 1000;
  const known = new Map<string, CompiledQuery>();

  function learn(key: string, schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): void {
    if (known.has(key)) return;
    const compiled = compileQuery(schema, document, operationName);
    if (!isCompiledQuery(compiled)) return;
    known.set(key, compiled);
    if (known.size > maxDocuments) known.delete(known.keys().next().value as string);
  }

  function lookup(key: string): CompiledQuery | undefined {
    const compiled = known.get(key);
    if (compiled !== undefined) {
      known.delete(key); // most recently used last
      known.set(key, compiled);
    }
    return compiled;
  }

  const plugin: Plugin<ApiContext> = {
    onExecute({ args }) {
      const { params } = args.contextValue as ApiContext;
      if (typeof params?.query !== 'string' || params.extensions !== undefined) return undefined;
      const operationName = args.operationName ?? undefined;
      if (getOperationAST(args.document, operationName)?.operation !== 'query') return undefined;
      const key = documentKey(params.query, params.operationName);
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result) || result.errors !== undefined || result.data == null) return;
          learn(key, args.schema as GraphQLSchema, args.document, operationName);
        },
      };
    },
  };

  /** Yoga answers a request whose body this lane already read. */
  async function passOn(req: IncomingMessage, res: ServerResponse, body: Buffer, deadline: number): Promise<void> {
    metrics.fastLane.inc({ result: 'passed_on' });
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
      else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    }
    const response = await options.yoga().fetch(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: 'POST', headers, body }, { deadline });
    const out = Buffer.from(await response.arrayBuffer());
    const outHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => { outHeaders[name] = value; });
    outHeaders['content-length'] = String(out.length);
    res.writeHead(response.status, outHeaders);
    res.end(out);
  }

  function answer(res: ServerResponse, type: string, result: unknown, principal: Principal, t0: number): void {
    const out = JSON.stringify(result);
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(out) });
    res.end(out);
    metrics.fastLane.inc({ result: 'answered' });
    metrics.requestsByKey.inc({ key: principal.name, operation: 'query' });
    metrics.requestSeconds.observe({ status: '200' }, (performance.now() - t0) / 1000);
  }

  function run(req: IncomingMessage, res: ServerResponse, body: Buffer, type: string, principal: Principal, t0: number): void {
    const deadline = t0 + options.requestTimeoutMs;
    const fail = (): void => {
      passOn(req, res, body, deadline).catch((err: Error) => res.destroy(err));
    };
    const params = paramsOf(body.toString('utf8'));
    const compiled = params && lookup(documentKey(params.query, params.operationName));
    if (params === undefined || compiled === undefined) return fail();
    const context: FeatureContext = { principal };
    let execution: ReturnType<CompiledQuery['query']>;
    try {
      execution = compiled.query(undefined, context, params.variables ?? {});
    } catch {
      return fail(); // a throw, not an errors result: yoga reports it
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), options.requestTimeoutMs); });
    Promise.race([Promise.resolve(execution), expired]).then((result) => {
      clearTimeout(timer);
      if (result === undefined || result.errors !== undefined || result.data == null) return fail();
      answer(res, type, result, principal, t0);
    }, () => {
      clearTimeout(timer);
      fail();
    });
  }

  /** the key's principal; undefined for a missing or unknown key (yoga answers 401 in its own words) */
  function principalOf(req: IncomingMessage): Principal | undefined {
    try {
      return authenticate(options.keys, req.headers.authorization ?? null);
    } catch {
      return undefined;
    }
  }

  const listener: RequestListener = (req, res) => {
    const t0 = performance.now();
    const length = req.headers['content-length'];
    const type = responseType(req.headers.accept);
    const eligible = req.method === 'POST' && req.url === options.graphqlEndpoint && type !== undefined
      && JSON_TYPE.test(req.headers['content-type'] ?? '') && req.headers['transfer-encoding'] === undefined
      && length !== undefined && CONTENT_LENGTH.test(length) && Number(length) <= options.maxBodyBytes;
    const principal = eligible ? principalOf(req) : undefined;
    if (type === undefined || principal === undefined || !principal.scopes.has('read')) {
      void options.yoga()(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => run(req, res, chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks), type, principal, t0));
    req.on('error', (err) => res.destroy(err));
  };

  return { listener, plugin };
}
