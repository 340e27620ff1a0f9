/**
 * Run by test/local/s3-server.test.ts in a child `node --openssl-legacy-provider --import tsx`, as
 * `npm start` runs the stack: starts s3rver through startS3Server, writes three objects, lists them a
 * page of one at a time (DES-encrypted continuation tokens), and prints what it saw as one JSON line.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../src/adapters/aws/s3.ts';
import { legacyCiphersAvailable, S3RVER_CREDENTIALS, startS3Server } from '../../src/local/s3-server.ts';

const children = () =>
  readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);

const dir = await mkdtemp(join(tmpdir(), 'jwks-s3-in-process-'));
const server = await startS3Server({ dir, buckets: ['data'] });
const client = new S3Client({
  region: 'us-east-1',
  endpoint: server.endpoint,
  forcePathStyle: true,
  credentials: S3RVER_CREDENTIALS,
});
const store = new S3ObjectStore({ client, bucket: 'data', pageSize: 1 });
for (const key of ['a.json', 'b.json', 'c.json']) {
  await store.put({ key, body: new TextEncoder().encode('{}'), contentType: 'application/json' });
}
const listed = await store.list('');
const childProcesses = children().length;
client.destroy();
await server.stop();
const listeningAfterStop = await fetch(`${server.endpoint}/data`).then(
  () => true,
  () => false,
);
await rm(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ legacy: legacyCiphersAvailable(), listed, childProcesses, listeningAfterStop })}\n`,
);
