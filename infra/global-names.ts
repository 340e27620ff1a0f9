/**
 * Names that must be unique across an account, whatever the region (CloudFront policies and origin
 * access controls are global resources; WAF web ACLs for CloudFront too): two stacks — two
 * environments, or the same stack name in two regions of one account — must never collide. Each name
 * is `<stack name>-<region>-<what>`; a stack name too long for the limit is shortened and keeps a
 * hash of the whole name, so two long names that share a prefix still differ.
 */
import { createHash } from 'node:crypto';
import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Longest region name (e.g. `ap-southeast-5`, `us-gov-west-1`) with room to spare. */
const REGION_ROOM = 16;

export function globalName(scope: IConstruct, what: string, maxLength: number): string {
  const stack = Stack.of(scope);
  const room = maxLength - REGION_ROOM - what.length - 2;
  const name = stack.stackName;
  const prefix =
    name.length <= room
      ? name
      : `${name.slice(0, room - 9)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  return `${prefix}-${stack.region}-${what}`;
}
