/**
 * The body of a small request to one of the local stack's own routes (the CloudFront invalidation
 * API, the region switchboard), read whole up to a limit. The token endpoint has its own reader
 * (src/token/node-http.ts), which also stops reading a body that is too large.
 */
import type { IncomingMessage } from 'node:http';

/** The whole body, or undefined once it passes `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
