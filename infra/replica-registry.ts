/**
 * A replica region's view of the global table (ADR 0008): its own replica, and that replica's stream.
 *
 * CloudFormation returns a global table's `StreamArn` for the stack's own region only, and a stream
 * ARN ends in a creation timestamp nobody can predict (`TableV2.replica(region)` gives `…/stream/*`,
 * good for IAM but not for an event source mapping). So this region's stack asks DynamoDB, at deploy
 * time: `DescribeTable` of its replica → `LatestStreamArn`. The replica exists by then: this stack
 * depends on the home stack, which creates the global table with its replicas.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

export class ReplicaRegistry extends Construct {
  /** The replica in this stack's region, with its stream. */
  readonly table: dynamodb.ITable;
  readonly streamLookup: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: { readonly tableName: string }) {
    super(scope, id);
    const tableArn = Stack.of(this).formatArn({
      service: 'dynamodb',
      resource: 'table',
      resourceName: props.tableName,
    });
    const call: cr.AwsSdkCall = {
      service: 'DynamoDB',
      action: 'describeTable',
      parameters: { TableName: props.tableName },
      physicalResourceId: cr.PhysicalResourceId.fromResponse('Table.LatestStreamArn'),
      outputPaths: ['Table.LatestStreamArn'],
    };
    this.streamLookup = new cr.AwsCustomResource(this, 'StreamLookup', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [tableArn] }),
      installLatestAwsSdk: false,
    });
    this.table = dynamodb.TableV2.fromTableAttributes(this, 'Replica', {
      tableName: props.tableName,
      tableStreamArn: this.streamLookup.getResponseField('Table.LatestStreamArn'),
    });
    // The provider's role (a singleton function at stack scope) is the custom resource's grant principal.
    Validations.of(this.streamLookup.grantPrincipal as unknown as Construct).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's AwsCustomResource provider (one DescribeTable at deploy time) writes its logs with the basic " +
        'execution role; it runs only during deployments.',
    });
  }
}
