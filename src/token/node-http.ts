/**
 * The token endpoint on node:http: the local edge's `POST /oauth2/token` route
 * (`edge.route('POST', PATHS.TOKEN, tokenRoute(endpoint))`) and the benchmark's server.
 *
 * It reads at most MAX_BODY_BYTES + 1 bytes: a larger body is answered (413, by the endpoint) without
 * reading the rest, and the connection is closed after the answer so the unread bytes cannot be taken
 * for the next request on a kept-alive connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenEndpoint } from './endpoint.ts';
import { MAX_BODY_BYTES } from './params.ts';

function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        resolve({ body: Buffer.concat(chunks).subarray(0, limit + 1), complete: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ body: Buffer.concat(chunks), complete: true });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** A node:http request handler for the endpoint (matches the local edge's RouteHandler). */
export function tokenRoute(
  endpoint: TokenEndpoint,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = Number.isFinite(declared) && declared > MAX_BODY_BYTES;
    const { body, complete } = tooLarge
      ? { body: Buffer.alloc(MAX_BODY_BYTES + 1), complete: false }
      : await readBody(req, MAX_BODY_BYTES);
    const response = await endpoint.handle({ method: req.method ?? '', headers: req.headers, body });
    const headers: Record<string, string> = {
      ...response.headers,
      'Content-Length': String(Buffer.byteLength(response.body)),
    };
    if (!complete) headers.Connection = 'close';
    res.writeHead(response.status, headers);
    res.end(req.method === 'HEAD' ? undefined : response.body, () => {
      if (!complete) req.socket.destroy();
    });
  };
}
