// A deadline for every operation: past it the client gets TIMEOUT (504) at once, whatever
// the stores are doing (their own timeouts end the work: Redis commandTimeout,
// ClickHouse max_execution_time). A request the fast lane passed on brings its deadline
// (ApiContext.deadline): counted from its arrival, not from when yoga got it.
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';

export function useTimeout(options: { ms: number }): Plugin<ApiContext> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const deadline = (args.contextValue as ApiContext).deadline;
        const ms = deadline === undefined ? options.ms : Math.max(0, deadline - performance.now());
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ApiError('TIMEOUT', `the request took longer than ${options.ms} ms and was abandoned`)), ms);
        });
        try {
          const result = await Promise.race([executeFn(args), expired]);
          if (isAsyncIterable(result)) throw new ApiError('NOT_AVAILABLE', 'streamed results are not supported');
          return result;
        } catch (error) {
          if (error instanceof ApiError && error.code === 'TIMEOUT') return { errors: [error] };
          throw error;
        } finally {
          clearTimeout(timer);
        }
      });
    },
  };
}
