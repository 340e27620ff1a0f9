/**
 * s3rver configured as the local stack runs it, shared by the two ways s3-server.ts starts it: in the
 * stack's own process (when OpenSSL's legacy provider is loaded, see s3-server.ts) and in a child
 * process (s3rver-process.mjs). Plain JavaScript on purpose: the child loads it without a TypeScript
 * loader; s3rver-app.d.mts gives its types.
 */
import S3rver from 's3rver';
import { makeAtomic } from './s3rver-atomic.mjs';

/**
 * @param {{ host: string, port: number, dir: string, buckets?: string[], loopbackHost: { source: string, flags: string } }} options
 */
export function createS3rver(options) {
  const server = new S3rver({
    address: options.host,
    port: options.port,
    silent: true,
    directory: options.dir,
    // Path-style only: with vhost detection on, a Host header ending in s3rver's service endpoint
    // would be read as a bucket name.
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  // S3's read-after-write promise: no GET sees a PUT half done (s3rver-atomic.mjs says why).
  makeAtomic(server.store);

  // First in the chain: a request whose Host is not a loopback name (a page that rebinds its DNS name to
  // 127.0.0.1) gets 421 before s3rver reads or writes anything. Koa composes `middleware` at run().
  const loopbackHost = new RegExp(options.loopbackHost.source, options.loopbackHost.flags);
  server.middleware.unshift(async (ctx, next) => {
    if (!loopbackHost.test(ctx.get('host'))) {
      ctx.status = 421;
      ctx.body = { error: 'misdirected_request' };
      return;
    }
    await next();
  });
  return server;
}
