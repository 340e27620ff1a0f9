/**
 * s3rver for adapter and end-to-end tests: 127.0.0.1, a free port, silent, and a fresh temporary
 * directory (removed on stop) unless `dir` is given. The implementation lives in src/local/s3-server.ts,
 * which `npm start` uses with its data dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Server } from '../../src/local/s3-server.ts';

export { S3RVER_CREDENTIALS } from '../../src/local/s3-server.ts';

export async function startS3rver(opts?: {
  dir?: string;
  buckets?: string[];
}): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const ownDir = opts?.dir === undefined;
  const dir = opts?.dir ?? (await mkdtemp(join(tmpdir(), 'jwks-s3rver-')));
  const server = await startS3Server({ dir, buckets: opts?.buckets ?? [] });
  return {
    endpoint: server.endpoint,
    async stop() {
      await server.stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
