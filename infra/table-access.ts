/**
 * DynamoDB grants per role, per partition and per action (design §11). The registry table holds the
 * key registry (`REGISTRY`), client records with their secret hashes (`CLIENT#…`) and `jti` replay
 * items (`JTI#…`): a role is allowed exactly the actions its code sends, on exactly the partitions
 * it reads or writes, with `dynamodb:LeadingKeys`.
 *
 * `ForAllValues:StringLike` alone would pass a request carrying no partition key at all (a Scan, or a
 * BatchWriteItem of nothing); the `Null` check makes the key required. In a TransactWriteItems each
 * item is authorised as its own PutItem/UpdateItem, with its own partition key. `dynamodb:LeadingKeys`
 * cannot tell items of one partition apart (no sort-key condition exists); `dynamodb:Attributes` limits
 * what a write may set. Evaluated against the code's real calls by the IAM contract (test/iam/).
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';

/** Partition-key prefixes of the token path's items (src/adapters/aws/dynamodb-clients.ts). */
export const ITEM_PARTITIONS = { CLIENT: 'CLIENT#*', JTI: 'JTI#*' } as const;

/**
 * The attributes a publication mark writes (src/adapters/aws/dynamodb-registry.ts): the only ones the
 * publisher may write (`dynamodb:Attributes`), so it can mark a publication and change nothing else —
 * no `status`, no STATE field, no PROMOTION item (each needs attributes outside these lists). The key
 * attributes are listed because a write names them. ADR 0010.
 */
export const PUBLICATION_MARK_ATTRIBUTES = {
  /** One region: `markPublished`, an UpdateItem of the key item. */
  singleRegion: ['pk', 'sk', 'publishedAt', 'version', 'changedBy', 'reason'],
  /** Several regions: `markRegionPublished`, a PutItem of a `PUBLISHED#<region>#<keyRef>` item. */
  multiRegion: ['pk', 'sk', 'region', 'keyRef', 'kid', 'publishedAt'],
} as const;

export interface PartitionGrant {
  /** The statement id (names the purpose in the policy). */
  readonly sid: string;
  readonly actions: readonly `dynamodb:${string}`[];
  /** Partition key values or `StringLike` patterns (`CLIENT#*`). */
  readonly partitions: readonly string[];
  /**
   * The only top-level attributes the request may name (`dynamodb:Attributes`), and only return values
   * that hold no other attribute (`dynamodb:ReturnValues`).
   * @default - any attribute
   */
  readonly attributes?: readonly string[];
}

export function grantPartitions(role: iam.IRole, table: dynamodb.ITable, grant: PartitionGrant): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: grant.sid,
      actions: [...grant.actions],
      resources: [table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.partitions] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
        ...(grant.attributes
          ? {
              'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...grant.attributes] },
              StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
            }
          : {}),
      },
    }),
  );
}
