// A deadline for every operation: past it the client gets TIMEOUT (504) at once, whatever
// the stores are doing (their own timeouts end the work: Redis commandTimeout,
// ClickHouse max_execution_time).
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ApiError } from '../errors.js';

export function useTimeout(options: { ms: number }): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ApiError('TIMEOUT', `the request took longer than ${options.ms} ms and was abandoned`)), options.ms);
        });
        try {
          const result = await Promise.race([executeFn(args), deadline]);
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
