import type { Server } from 'node:http';

/** What s3-server.ts uses of an s3rver instance (s3rver ships no types). */
export interface S3rverInstance {
  configureBuckets(): Promise<void>;
  /** Koa's request handler: the whole S3 emulation behind an http.Server of our own. */
  callback(): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}

export function createS3rver(options: {
  host: string;
  port: number;
  dir: string;
  buckets?: readonly string[];
  loopbackHost: { source: string; flags: string };
}): S3rverInstance;
