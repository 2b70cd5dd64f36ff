// Every error a client sees carries extensions.code: graphql-js's syntax and validation
// errors get GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED (ours already have one);
// variables the operation cannot use ("Variable "$t" of non-null type "DateTime!" must
// not be null.") get BAD_USER_INPUT; a `subscription` operation, which this API does not
// serve (no Subscription type, no stream transport), is refused with
// OPERATION_NOT_SUPPORTED (400) before anything runs.
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ApiError } from '../errors.js';

/**
 * The error with extensions.code (kept when it has one), with http.status when one is
 * given and it has none, and with `message`; the same object when nothing changes.
 * `extensions` may be missing: graphql-jit's variable errors are built without it.
 */
function withCode(error: GraphQLError, code: string, httpStatus?: number, message = error.message): GraphQLError {
  const http = error.extensions?.http as { status?: number } | undefined;
  const hasCode = typeof error.extensions?.code === 'string';
  const addStatus = httpStatus !== undefined && http?.status === undefined;
  if (hasCode && !addStatus && message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError,
    extensions: { ...error.extensions, code: hasCode ? error.extensions.code : code, ...(addStatus ? { http: { ...http, status: httpStatus } } : {}) },
  });
}

/**
 * An execution result without `data` is a request error: the executor could not start
 * (operation resolution, variable coercion; graphql-js gives the latter no code). Field
 * errors always come with `data`, so they (and masked unexpected errors) are left alone.
 * Request errors are a 400 (GraphQL over HTTP); the compiled executor (graphql-jit) does
 * not say so itself.
 */
function codeRequestErrors(result: ExecutionResult): ExecutionResult | undefined {
  const before = result.errors;
  if ('data' in result || before === undefined) return undefined;
  const errors = before.map((e) => withCode(e, 'BAD_USER_INPUT', 400, withScalarReason(e)));
  return errors.some((e, i) => e !== before[i]) ? { ...result, errors } : undefined;
}

/**
 * graphql-jit words a variable a custom scalar refused as "...; Expected type DateTime."
 * and keeps the scalar's own reason (api/scalars.ts: "add a time zone") only as the
 * original error; graphql-js puts that reason in the message, and so do we.
 */
function withScalarReason(error: GraphQLError): string {
  const reason = error.originalError?.message;
  if (!reason || !/^Variable "\$\w+" got invalid value .*; Expected type \w+\.$/s.test(error.message)) return error.message;
  return error.message.replace(/Expected type \w+\.$/, reason);
}

export function useErrorCodes(): Plugin {
  return {
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(withCode(result, 'GRAPHQL_PARSE_FAILED'));
      };
    },
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length > 0) setResult(result.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return; // streams are refused by use-timeout
          const coded = codeRequestErrors(result);
          if (coded !== undefined) setResult(coded);
        },
      };
    },
    onSubscribe({ setResultAndStopExecution }) {
      setResultAndStopExecution({
        errors: [new ApiError('OPERATION_NOT_SUPPORTED', 'subscription operations are not supported: send a query (reads) or a mutation (jobs)')],
      });
    },
  };
}
