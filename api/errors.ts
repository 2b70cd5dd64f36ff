// The API's one error vocabulary. Every error a client can see is an ApiError: a
// GraphQLError with a stable `extensions.code` and an HTTP status (yoga turns
// `extensions.http` into the response status and headers and strips it from the body).
// Errors from the stores are mapped here, in one place; anything else is unexpected and
// masked outside development (server.ts).
import { GraphQLError } from 'graphql';
import { UnknownFeatureError } from '../core/features/registry.js';

export const ERROR_CODES = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  UNKNOWN_FEATURE: 400,
  UNKNOWN_ENTITY: 400,
  TOO_MANY_IDS: 400,
  DEPTH_LIMIT: 400,
  ALIAS_LIMIT: 400,
  TOKEN_LIMIT: 400,
  COST_LIMIT: 400,
  DIRECTIVE_LIMIT: 400,
  INTROSPECTION_DISABLED: 400,
  BAD_REQUEST: 400,
  OPERATION_NOT_SUPPORTED: 400,
  REQUEST_ENTITY_TOO_LARGE: 413,
  NOT_AVAILABLE: 501,
  STORE_UNAVAILABLE: 503,
  OFFLINE_UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export interface ApiErrorOptions {
  /** extra extensions (e.g. the valid names) */
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** true for request-level errors the GraphQL-over-HTTP spec maps like validation errors */
  spec?: boolean;
  /** overrides the code's status (e.g. 200 for a field error inside a partial result) */
  httpStatus?: number;
  cause?: unknown;
}

export class ApiError extends GraphQLError {
  override name = 'ApiError';
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    const status = options.httpStatus ?? ERROR_CODES[code];
    const http: Record<string, unknown> = { status };
    if (options.headers) http.headers = options.headers;
    if (options.spec) http.spec = true;
    super(message, { extensions: { code, ...options.details, http } });
    this.code = code;
    this.status = status;
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}

/** The code of any error a result carries (ours, yoga's, graphql-js's). */
export function codeOf(error: { extensions?: Record<string, unknown> }): string {
  const code = error.extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

/** The first line of an error's message, bounded (ClickHouse exceptions are long). */
function describe(error: unknown): string {
  const text = (error instanceof Error ? error.message || error.name : String(error)).split('\n')[0] ?? '';
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/** Errors of the online store (ioredis) -> STORE_UNAVAILABLE; ApiErrors pass through. */
export function storeError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError('STORE_UNAVAILABLE', `online store (Redis) unavailable: ${describe(error)}`, { cause: error });
}

/** Errors of the offline store (ClickHouse) -> OFFLINE_UNAVAILABLE. */
export function offlineError(error: unknown, what: string): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError('OFFLINE_UNAVAILABLE',
    `offline store (ClickHouse) unavailable, needed for ${what}: ${describe(error)}`, { cause: error });
}

/** The same error for one field of a partial result: the response is still a 200. */
export function partialError(error: ApiError): ApiError {
  return new ApiError(error.code, error.message, { httpStatus: 200, cause: error });
}

/** Registry lookups -> UNKNOWN_FEATURE listing the valid names. */
export function unknownFeature(name: string, entity: string, valid: readonly string[], other?: string): ApiError {
  const why = other === undefined ? `unknown feature ${JSON.stringify(name)}` : `feature ${JSON.stringify(name)} belongs to entity ${other}, not ${entity}`;
  return new ApiError('UNKNOWN_FEATURE', `${why}; valid ${entity} features: ${valid.join(', ')}`, { details: { validNames: valid } });
}

export function isUnknownFeature(error: unknown): error is UnknownFeatureError {
  return error instanceof UnknownFeatureError;
}
