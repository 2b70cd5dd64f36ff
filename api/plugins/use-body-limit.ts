// The request body cap (413 REQUEST_ENTITY_TOO_LARGE), replacing yoga's maxRequestBodySize,
// which pipes EVERY body through a counting TransformStream and rebuilds the Request: on
// the feature-read hot path that cost more than executing the query. A body with a valid
// Content-Length is checked by its header alone (Node's HTTP parser delivers exactly that
// many bytes); only a body without one (chunked) is counted as it streams, as yoga does.
import type { Plugin } from 'graphql-yoga';
import { ApiError } from '../errors.js';

/** one non-negative integer: anything else may be a smuggling attempt */
export const CONTENT_LENGTH = /^\d+$/;

const tooLarge = (limit: number) => new ApiError('REQUEST_ENTITY_TOO_LARGE', `Request body too large: the limit is ${limit} bytes`);

export function useBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length !== null) {
        if (!CONTENT_LENGTH.test(length)) throw new ApiError('BAD_REQUEST', 'Content-Length header is invalid.');
        if (Number(length) > limit) throw tooLarge(limit);
        return;
      }
      if (requestParser === undefined || request.body === null) return;
      const parse = requestParser;
      setRequestParser((req) => {
        const body = req.body;
        if (body === null) return parse(req);
        let bytes = 0;
        // A native ReadableStream needs the native TransformStream (graphql-yoga#4583).
        const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        const counted = body.pipeThrough(new Transform<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            bytes += chunk.byteLength;
            if (bytes > limit) controller.error(tooLarge(limit));
            else controller.enqueue(chunk);
          },
        }));
        return parse(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body: counted, duplex: 'half' } as RequestInit));
      });
    },
  };
}
