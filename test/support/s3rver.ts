/**
 * s3rver for adapter and end-to-end tests: 127.0.0.1, a free port, silent, and a fresh temporary
 * directory (removed on stop) unless `dir` is given. The implementation lives in src/local/s3-server.ts,
 * which `npm start` uses with its data dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { vi } from 'vitest';
import { createS3Client } from '../../src/adapters/aws/clients.ts';
import { S3RVER_CREDENTIALS, startS3Server } from '../../src/local/s3-server.ts';

export { S3RVER_CREDENTIALS };

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

/**
 * The real client path to s3rver, as the local stack takes it: the SDK's own endpoint variable and the
 * one access key s3rver accepts (stubbed with vitest; undo with `vi.unstubAllEnvs()`), then the factory.
 */
export function s3rverClient(endpoint: string): S3Client {
  vi.stubEnv('AWS_ENDPOINT_URL_S3', endpoint);
  vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  return createS3Client();
}
