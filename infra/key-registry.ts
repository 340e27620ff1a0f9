/**
 * The key registry (design §4): one DynamoDB table holding the key items, the STATE item and (later)
 * the token endpoint's client and `jti` items. Its stream drives publication (and later the events
 * consumer); point-in-time recovery is on because the registry is the source of truth for which
 * key signs, and a restore is safe (the publisher re-applies the append-only revocation list).
 *
 * Multi-region (ADR 0008): the same table as a DynamoDB global table (`TableV2` with a replica per
 * replica region, multi-Region eventual consistency): same key schema, stream, PITR, TTL and deletion
 * protection in every replica. Each region's publisher consumes its own replica's stream.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE } from '../src/constants.ts';

export interface KeyRegistryProps {
  /**
   * What happens to the table when it leaves the stack. Deletion protection is on regardless, so
   * even DESTROY needs a deliberate update first.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Multi-region: the regions that get a replica (not this stack's region, which holds the first).
   * @default - a single-region table
   */
  readonly replicaRegions?: readonly string[];
}

export class KeyRegistry extends Construct {
  readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: KeyRegistryProps = {}) {
    super(scope, id);
    if (props.replicaRegions && props.replicaRegions.length > 0) {
      this.table = new dynamodb.TableV2(this, 'GlobalTable', {
        partitionKey: { name: TABLE.PARTITION_KEY, type: dynamodb.AttributeType.STRING },
        sortKey: { name: TABLE.SORT_KEY, type: dynamodb.AttributeType.STRING },
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        // Global tables need NEW_AND_OLD_IMAGES; every replica's stream carries every write, local or replicated.
        dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        timeToLiveAttribute: TABLE.TTL_ATTRIBUTE,
        encryption: dynamodb.TableEncryptionV2.dynamoOwnedKey(),
        replicas: props.replicaRegions.map((region) => ({ region })),
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      return;
    }
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.SORT_KEY, type: dynamodb.AttributeType.STRING },
      // A few writes an hour and a burst on rotation: on-demand costs cents, provisioned would idle.
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Old and new image: publish re-reads the table anyway, but the events consumer (a later
      // issue) turns each old → new transition into one lifecycle event.
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TABLE.TTL_ATTRIBUTE,
      // Encrypted at rest with an AWS owned key: no KMS charge, and the items hold public keys only.
      encryption: dynamodb.TableEncryption.DEFAULT,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
