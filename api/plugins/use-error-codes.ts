// Every error a client sees carries extensions.code: graphql-js's syntax and validation
// errors get GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED (ours already have one);
// variables the operation cannot use ("Variable "$t" of non-null type "DateTime!" must
// not be null.") get BAD_USER_INPUT; a `subscription` operation, which this API does not
// serve (no Subscription type, no stream transport), is refused with
// OPERATION_NOT_SUPPORTED (400) before anything runs.
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ApiError } from '../errors.js';

function withCode(error: GraphQLError, code: string): GraphQLError {
  if (typeof error.extensions.code === 'string') return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * An execution result without `data` is a request error: the executor could not start
 * (operation resolution, variable coercion; graphql-js gives the latter no code). Field
 * errors always come with `data`, so they (and masked unexpected errors) are left alone.
 */
function codeRequestErrors(result: ExecutionResult): ExecutionResult | undefined {
  if ('data' in result || !result.errors?.some((e) => typeof e.extensions?.code !== 'string')) return undefined;
  return { ...result, errors: result.errors.map((e) => withCode(e, 'BAD_USER_INPUT')) };
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
