/**
 * What `npm start` does before it loads the rest of the stack: take the data dir's lock, then spawn
 * DynamoDB Local. The JVM's start (1.5–2 s) is the longest single step of a start, and loading the
 * stack's modules (the AWS SDK clients, fauxqs, s3rver; over a second through tsx) is the next: this
 * module imports neither, so main.ts can start the JVM first and load the stack while it boots.
 * startLocalStack() takes over both: it releases the lock and stops the JVM on its way out.
 */
import { join } from 'node:path';
import type { Log } from '../ports.ts';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';

export interface EarlyStart {
  readonly lock: DataDirLock;
  /** Rejections are also handled here, so a JVM that fails before the stack awaits it is no crash. */
  readonly dynamodb: Promise<DynamoDbLocal>;
}

/** The data dir's lock, waiting (and saying so) for a stack that is still shutting down on it. */
export function lockForStack(dataDir: string, log: Log): Promise<DataDirLock> {
  return lockDataDir(dataDir, {
    onWaiting: (holder) =>
      log.warn('data dir: waiting for the stack that is shutting down on it', { pid: holder.pid }),
  });
}

/** Rejects with DataDirLockedError when another stack runs on the data dir (nothing is started then). */
export async function startEarly(dataDir: string, log: Log): Promise<EarlyStart> {
  const lock = await lockForStack(dataDir, log);
  const dynamodb = startDynamoDbLocal({ dir: join(dataDir, 'dynamodb') });
  dynamodb.catch(() => undefined);
  return { lock, dynamodb };
}
