// Request limits of the API, with their defaults. Every one is enforced before any store
// is touched (depth, aliases, tokens, cost, directives at parse/validation; ids when a
// field is resolved) and reported with its own extensions.code.
export interface ApiLimits {
  /** ids across all fields of one request (TOO_MANY_IDS) */
  maxIdsPerRequest: number;
  /** selection depth (DEPTH_LIMIT); introspection is exempt */
  maxDepth: number;
  /** aliases per operation (ALIAS_LIMIT) */
  maxAliases: number;
  /** lexer tokens per document (TOKEN_LIMIT); room for maxIdsPerRequest inline ids */
  maxTokens: number;
  /** graphql-armor's static cost (COST_LIMIT) */
  maxCost: number;
  /** directives per operation (DIRECTIVE_LIMIT) */
  maxDirectives: number;
  /** request body bytes (REQUEST_ENTITY_TOO_LARGE, 413) */
  maxBodyBytes: number;
  /** one operation's execution time (TIMEOUT, 504); also ClickHouse's max_execution_time */
  requestTimeoutMs: number;
  /** one Redis command or pipeline (STORE_UNAVAILABLE after it) */
  redisCommandTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ApiLimits> = Object.freeze({
  maxIdsPerRequest: 1000,
  maxDepth: 8,
  maxAliases: 15,
  maxTokens: 5000,
  maxCost: 5000,
  maxDirectives: 20,
  maxBodyBytes: 1024 * 1024,
  requestTimeoutMs: 10_000,
  redisCommandTimeoutMs: 1000,
});
