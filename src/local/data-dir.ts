/**
 * The local stack's data directory: an exclusive lock (one stack per data dir: DynamoDB Local and
 * s3rver would corrupt each other's files) and `stack.json`, the connection details the `jwks` CLI
 * reads to talk to the running stack through the same AWS adapters.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyInput } from '../core/types.ts';
import { JwksError } from '../errors.ts';

export const LOCK_FILE = 'stack.lock';
export const STACK_FILE = 'stack.json';

/** What a running local stack publishes about itself for the CLI. No secrets: keys stay in keys/. */
export interface StackInfo {
  readonly pid: number;
  readonly url: string;
  readonly region: string;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  /**
   * The embedded SNS/SQS emulator (fauxqs), for `AWS_ENDPOINT_URL_SNS` and `AWS_ENDPOINT_URL_SQS`: a
   * local subscriber subscribes a queue to `topicArn` exactly as in AWS. The three events members are
   * absent in a stack.json written by a stack that predates events.
   */
  readonly snsEndpoint?: string;
  /** The lifecycle events topic (design §6). */
  readonly topicArn?: string;
  /** The audit trail's bucket on `s3Endpoint` (read by `jwks audit`). */
  readonly auditBucket?: string;
  readonly tableName: string;
  readonly bucket: string;
  readonly distributionId: string;
  readonly deploymentName: string;
  readonly keysDir: string;
  /** The policy settings the stack runs with, as given (defaults omitted). */
  readonly policy: PolicyInput;
  /**
   * `REGIONS=2 npm start` (ADR 0008): every simulated region, the home region first, with its own
   * endpoint (token endpoint and JWKS path), table, bucket and vault; the top-level members name the
   * home region's. Absent for a single region.
   */
  readonly regions?: readonly RegionInfo[];
}

export interface RegionInfo {
  readonly region: string;
  readonly url: string;
  readonly tableName: string;
  readonly bucket: string;
  readonly keysDir: string;
}

export class DataDirLockedError extends JwksError {
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super('DATA_DIR_LOCKED', `data dir ${dir} is in use by another jwks stack (pid ${pid})`);
    this.pid = pid;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else — still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the data dir's lock or throw DataDirLockedError. A lock left by a dead process (a crash or
 * SIGKILL) is taken over. Returns the release function.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid))
        throw new DataDirLockedError(dir, pid);
      rmSync(path, { force: true });
    }
  }
  throw new DataDirLockedError(dir, -1);
}

export function writeStackInfo(dir: string, info: StackInfo): void {
  const path = join(dir, STACK_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** The running stack's details, or null when no stack is running on this data dir. */
export function readStackInfo(dir: string): StackInfo | null {
  let info: StackInfo;
  try {
    info = JSON.parse(readFileSync(join(dir, STACK_FILE), 'utf8')) as StackInfo;
  } catch {
    return null;
  }
  return processAlive(info.pid) ? info : null;
}

export function removeStackInfo(dir: string): void {
  rmSync(join(dir, STACK_FILE), { force: true });
}
