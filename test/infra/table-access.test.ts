/**
 * DynamoDB least privilege (infra/table-access.ts): each role may send exactly the actions its code
 * sends, on exactly its partitions. CLIENT# items hold secret hashes: only the token role reads them.
 */
import { describe, expect, it } from 'vitest';
import { PUBLICATION_MARK_ATTRIBUTES } from '../../infra/table-access.ts';
import { clientItemKey, jtiItemKey } from '../../src/adapters/aws/dynamodb-clients.ts';
import { keyItemKey, STATE_KEY } from '../../src/adapters/aws/registry-items.ts';
import {
  allowedActions,
  allowing,
  allowsItem,
  asArray,
  identityStatements,
  logicalId,
  roleStatements,
  synth,
} from './synth.ts';

const ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

describe('registry table grants', () => {
  const { stack, template } = synth();
  const p = stack.publisher;
  const registry = STATE_KEY.pk;
  const client = clientItemKey('orders').pk;
  const jti = jtiItemKey('orders', 'jti-1').pk;
  expect(keyItemKey('k').pk).toBe(registry);

  /** For one role: the (action, partition) pairs its statements allow. */
  const allowedPairs = (role: Parameters<typeof roleStatements>[1]) => {
    const statements = roleStatements(template, role);
    return ITEM_ACTIONS.flatMap((action) =>
      [registry, client, jti, 'OTHER#x']
        .filter((pk) => allowsItem(statements, action, pk))
        .map((pk) => `${action} ${pk}`),
    ).sort();
  };

  it('lets the rotator Query, Get (STATE, for revoke) and Put in the registry partition only', () => {
    expect(allowedPairs(p.rotation.handler.role)).toEqual(
      [`dynamodb:GetItem ${registry}`, `dynamodb:PutItem ${registry}`, `dynamodb:Query ${registry}`].sort(),
    );
  });

  it('lets the publisher Query the registry partition, and Update there only the publication mark’s attributes', () => {
    // allowsItem counts a statement with an attribute condition as not allowing: only the Query is unconditioned.
    expect(allowedPairs(p.publication.handler.role)).toEqual([`dynamodb:Query ${registry}`]);
    const statements = roleStatements(template, p.publication.handler.role);
    const [mark, ...more] = allowing(statements, 'dynamodb:UpdateItem');
    expect(more).toEqual([]);
    expect(mark?.Sid).toBe('MarkPublishedOnly');
    expect(asArray(mark?.Action)).toEqual(['dynamodb:UpdateItem']);
    expect(mark?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [registry] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...PUBLICATION_MARK_ATTRIBUTES.singleRegion] },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
    });
  });

  it('lets the token role read STATE and clients and record jtis, nothing more', () => {
    expect(allowedPairs(p.token.handler.role)).toEqual(
      [`dynamodb:GetItem ${registry}`, `dynamodb:GetItem ${client}`, `dynamodb:PutItem ${jti}`].sort(),
    );
  });

  it('lets the canary Query the registry partition only (its staleness read), nothing more', () => {
    expect(allowedPairs(p.canary.handler.role)).toEqual([`dynamodb:Query ${registry}`]);
  });

  it('never lets the rotation, publish, events or canary role touch a CLIENT# item', () => {
    for (const role of [
      p.rotation.handler.role,
      p.publication.handler.role,
      p.events.handler.role,
      p.canary.handler.role,
    ]) {
      const statements = roleStatements(template, role);
      for (const action of ITEM_ACTIONS) expect(allowsItem(statements, action, client), action).toBe(false);
    }
  });

  it('grants no Scan, BatchWriteItem, BatchGetItem or DeleteItem anywhere, and every item action only by partition', () => {
    const all = identityStatements(template);
    for (const action of [
      'dynamodb:Scan',
      'dynamodb:BatchWriteItem',
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
    ]) {
      expect(allowing(all, action), action).toEqual([]);
    }
    const tableArn = JSON.stringify({ 'Fn::GetAtt': [logicalId(p.registry.table), 'Arn'] });
    const onTable = all.filter((s) => JSON.stringify(s.Resource).includes(tableArn));
    expect(onTable.length).toBeGreaterThanOrEqual(4);
    for (const s of onTable) {
      expect(s.Condition?.Null, JSON.stringify(s)).toEqual({ 'dynamodb:LeadingKeys': 'false' });
      expect(allowedActions([s]).every((a) => ITEM_ACTIONS.includes(a))).toBe(true);
    }
  });
});
