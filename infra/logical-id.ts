/**
 * cdk-nag names a resource in a finding id by its CloudFormation logical id (e.g.
 * `AwsSolutions-IAM5[Resource::<JwksBucketContent1234.Arn>/revocations/*]`); acknowledgements written
 * next to a construct need that id before synthesis.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export const logicalIdOf = (construct: IConstruct): string =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
