// What counts as a good answer to a hostile request (issue 7): GraphQL errors, each with a
// message and an extensions.code, or a clear 4xx; a 5xx only as an explicit overload
// answer (503/504 with the API's store or timeout codes); never a hang, never an
// unexpected (masked) error.
import type { FuzzRequest } from './requests.js';
import type { FuzzResponse } from './send.js';

/** The API's explicit "busy or a store is down" answers (api/errors.ts). */
export const OVERLOAD_CODES = new Set(['STORE_UNAVAILABLE', 'OFFLINE_UNAVAILABLE', 'TIMEOUT']);

export interface Verdict {
  /** the error codes of a JSON answer ([] for none or a non-JSON answer) */
  codes: string[];
  /** why the answer is not acceptable; undefined when it is */
  problem?: string;
}

interface GraphqlBody {
  data?: unknown;
  errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }>;
}

function parse(res: FuzzResponse): GraphqlBody | GraphqlBody[] | undefined {
  if (!/json/i.test(res.contentType)) return undefined;
  try {
    return JSON.parse(res.body) as GraphqlBody | GraphqlBody[];
  } catch {
    return undefined;
  }
}

export function judge(req: FuzzRequest, res: FuzzResponse): Verdict {
  if (res.error === 'timeout') return { codes: [], problem: 'no answer in time (hung)' };
  if (res.status === 0) {
    // A raw socket with a request the server cannot even read may simply be closed.
    return req.raw !== undefined ? { codes: [] } : { codes: [], problem: 'connection closed without an answer' };
  }
  const body = parse(res);
  const bodies = body === undefined ? [] : Array.isArray(body) ? body : [body];
  const errors = bodies.flatMap((b) => b.errors ?? []);
  const codes = errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'NO_CODE'));
  const unclear = errors.find((e) => typeof e.message !== 'string' || e.message.length === 0);
  if (unclear !== undefined) return { codes, problem: 'an error without a message' };
  // Every error carries extensions.code (plugins/use-error-codes.ts promises it).
  if (codes.includes('NO_CODE')) return { codes, problem: `an error without extensions.code: ${res.body.slice(0, 300)}` };
  if (codes.includes('INTERNAL_SERVER_ERROR')) return { codes, problem: `unexpected error: ${res.body.slice(0, 300)}` };
  if (res.status >= 500) {
    const overload = (res.status === 503 || res.status === 504) && codes.length > 0 && codes.every((c) => OVERLOAD_CODES.has(c));
    return overload ? { codes } : { codes, problem: `HTTP ${res.status}: ${res.body.slice(0, 300)}` };
  }
  if (res.status >= 400) return { codes };
  if (res.status >= 200 && res.status < 300) {
    // POST /graphql answers are GraphQL results; GET pages (/health, /metrics, GraphiQL) are whatever they are.
    if (req.method === 'POST' && req.path.startsWith('/graphql') && bodies.length === 0) return { codes, problem: `HTTP ${res.status} without a GraphQL result` };
    return { codes };
  }
  return { codes };
}
