/**
 * The CLI against a deployed stack (`--stack <name>`): table, bucket, distribution, deployment tag, key
 * policy principals and lifecycle policy come from the stack's CloudFormation outputs (one
 * DescribeStacks), and the operator's own AWS credentials (the SDK's default chain) read. `rotate`,
 * `revoke` and `publish` do not act here: the control plane asks the deployed function that owns the
 * action (its clock, its decisions), with the operator's identity from STS.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  createCloudFormationClient,
  createCloudFrontClient,
  createDynamoDbClient,
  createKmsClient,
  createS3Client,
  createStsClient,
  createTaggingClient,
  type Env,
} from '../adapters/aws/clients.ts';
import { CloudFrontCdn } from '../adapters/aws/cloudfront.ts';
import { DynamoDbClientStore } from '../adapters/aws/dynamodb-clients.ts';
import { DynamoDbRegistry } from '../adapters/aws/dynamodb-registry.ts';
import { KmsKeyVault } from '../adapters/aws/kms.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';
import { MULTI_REGION_OUTPUTS, STACK_OUTPUTS } from '../constants.ts';
import type { KeyPolicyPrincipals } from '../core/key-policy.ts';
import { parsePolicy } from '../core/policy.ts';
import type { Policy, PolicyInput } from '../core/types.ts';
import { type CliContext, fetchJwksFrom } from './context.ts';
import { StackNotFoundError } from './errors.ts';
import type { RegionRegistry } from './region-status.ts';

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** arn:<partition>:iam::<account>:role/<name> → partition and account (the key policy's root principal). */
function accountOf(roleArn: string): { partition: string; accountId: string } {
  const [, partition, , , accountId] = roleArn.split(':');
  if (!partition || !accountId)
    throw new StackNotFoundError(`output ${STACK_OUTPUTS.ROTATE_ROLE_ARN} is not an ARN: ${roleArn}`);
  return { partition, accountId };
}

export async function describeOutputs(stackName: string, env: Env): Promise<Map<string, string>> {
  const cfn = createCloudFormationClient(env);
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new StackNotFoundError(`stack ${stackName} not found`);
    return new Map(
      (stack.Outputs ?? []).flatMap((o) => (o.OutputKey ? [[o.OutputKey, o.OutputValue ?? '']] : [])),
    );
  } catch (err) {
    // CloudFormation answers an unknown stack with a ValidationError "Stack with id … does not exist".
    if (err instanceof Error && err.name === 'ValidationError' && /does not exist/.test(err.message)) {
      throw new StackNotFoundError(`stack ${stackName} not found`, { cause: err });
    }
    throw err;
  } finally {
    cfn.destroy();
  }
}

export async function deployedContext(
  stackName: string,
  env: Env = process.env,
  now: () => number = Date.now,
): Promise<CliContext> {
  const outputs = await describeOutputs(stackName, env);
  const need = (name: string): string => {
    const value = outputs.get(name)?.trim();
    if (!value) throw new StackNotFoundError(`stack ${stackName} has no output ${name}`);
    return value;
  };
  const dynamodb = createDynamoDbClient(env);
  const s3 = createS3Client(env);
  const cloudfront = createCloudFrontClient(env);
  const kms = createKmsClient(env);
  const tagging = createTaggingClient(env);
  const jwksUrl = need(STACK_OUTPUTS.JWKS_URL);
  const issuer = outputs.get(STACK_OUTPUTS.ISSUER_URL);
  let vault: KmsKeyVault | undefined;
  let policy: Policy | undefined;
  let callerArn: Promise<string> | undefined;
  const caller = (): Promise<string> => {
    callerArn ??= (async () => {
      const sts = createStsClient(env);
      try {
        const who = await sts.send(new GetCallerIdentityCommand({}));
        if (!who.Arn) throw new StackNotFoundError('STS GetCallerIdentity returned no ARN');
        return who.Arn;
      } finally {
        sts.destroy();
      }
    })();
    return callerArn;
  };
  // Multi-region: each region's replica of the global table (same name in every region), through a
  // client of that region, for `status`. Clients are made on first read: other commands never pay.
  const regionClients: DynamoDBClient[] = [];
  const regionNames = list(outputs.get(MULTI_REGION_OUTPUTS.REGIONS));
  const regionRegistries: RegionRegistry[] | undefined =
    regionNames.length > 1
      ? regionNames.map((region) => ({
          region,
          read() {
            const client = createDynamoDbClient({ ...env, AWS_REGION: region });
            regionClients.push(client);
            return new DynamoDbRegistry({ client, tableName: need(STACK_OUTPUTS.TABLE_NAME) }).read();
          },
        }))
      : undefined;
  return {
    ...(regionRegistries ? { regionRegistries } : {}),
    registry: new DynamoDbRegistry({ client: dynamodb, tableName: need(STACK_OUTPUTS.TABLE_NAME) }),
    clients: new DynamoDbClientStore({ client: dynamodb, tableName: need(STACK_OUTPUTS.TABLE_NAME) }),
    store: new S3ObjectStore({ client: s3, bucket: need(STACK_OUTPUTS.BUCKET_NAME) }),
    cdn: new CloudFrontCdn({ client: cloudfront, distributionId: need(STACK_OUTPUTS.DISTRIBUTION_ID) }),
    // Getters: `status` or `verify` must work on a stack whose key-policy or policy outputs are missing.
    get vault(): KmsKeyVault {
      if (!vault) {
        const adminRoleArn = need(STACK_OUTPUTS.ROTATE_ROLE_ARN);
        const keyPolicy: KeyPolicyPrincipals = {
          ...accountOf(adminRoleArn),
          adminRoleArn,
          signerRoleArns: list(need(STACK_OUTPUTS.SIGNER_ROLE_ARNS)),
          readerRoleArns: list(outputs.get(STACK_OUTPUTS.READER_ROLE_ARNS)),
        };
        vault = new KmsKeyVault({
          kms,
          tagging,
          deploymentName: need(STACK_OUTPUTS.DEPLOYMENT_NAME),
          keyPolicy,
        });
      }
      return vault;
    },
    get policy(): Policy {
      if (!policy) {
        let input: PolicyInput;
        try {
          input = JSON.parse(need(STACK_OUTPUTS.POLICY_JSON)) as PolicyInput;
        } catch (err) {
          if (err instanceof StackNotFoundError) throw err;
          throw new StackNotFoundError(`output ${STACK_OUTPUTS.POLICY_JSON} is not JSON`, { cause: err });
        }
        policy = parsePolicy(input).policy;
      }
      return policy;
    },
    jwksUrl,
    ...(issuer ? { issuer } : {}),
    changedBy: async () => `cli:${await caller()}`,
    controlPlane: {
      async act(request) {
        const functions = {
          rotate: need(STACK_OUTPUTS.ROTATE_FUNCTION_NAME),
          publish: need(STACK_OUTPUTS.PUBLISH_FUNCTION_NAME),
        };
        // Loaded here: only these three commands invoke a function.
        const { createLambdaClient, LambdaControlPlane } = await import(
          '../adapters/aws/lambda-control-plane.ts'
        );
        const lambda = createLambdaClient(env);
        try {
          const plane = new LambdaControlPlane({
            lambda,
            functions,
            operator: async () => ({ arn: await caller() }),
          });
          return await plane.act(request);
        } finally {
          lambda.destroy();
        }
      },
    },
    fetchJwks: () => fetchJwksFrom(jwksUrl),
    now,
    close() {
      for (const client of [dynamodb, s3, cloudfront, kms, tagging, ...regionClients]) client.destroy();
    },
  };
}
