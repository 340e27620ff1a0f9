/**
 * The local stack's data directory: `stack.json`, the connection details the `jwks` CLI reads to talk
 * to the running stack through the same AWS adapters. The exclusive lock is data-dir-lock.ts.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyInput } from '../core/types.ts';
import { lockHolder } from './data-dir-lock.ts';

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

export function writeStackInfo(dir: string, info: StackInfo): void {
  const path = join(dir, STACK_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** stack.json as written, whether or not its stack still runs; null when there is none. */
export function readStackFile(dir: string): StackInfo | null {
  try {
    return JSON.parse(readFileSync(join(dir, STACK_FILE), 'utf8')) as StackInfo;
  } catch {
    return null;
  }
}

/**
 * The running stack's details, or null when no stack is running on this data dir: stack.json counts
 * only while the process that wrote it holds the data dir's lock and is not stopping (the lock's rule,
 * so neither a crashed stack, a zombie, nor a process that got its pid later passes).
 */
export async function readStackInfo(dir: string): Promise<StackInfo | null> {
  const info = readStackFile(dir);
  if (!info) return null;
  const holder = await lockHolder(dir);
  return holder && !holder.stopping && holder.pid === info.pid ? info : null;
}

export function removeStackInfo(dir: string): void {
  rmSync(join(dir, STACK_FILE), { force: true });
}
