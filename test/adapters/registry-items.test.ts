import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as LambdaAttributeValue } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  isKeyItem,
  isStateItem,
  keyRecordFromImage,
  registryStateFromImage,
  registryVersionFromImage,
} from '../../src/adapters/aws/registry-items.ts';
import type { KeyRecord } from '../../src/core/types.ts';

/** What Lambda hands a stream consumer: plain AttributeValue JSON. */
const image = (item: object) =>
  JSON.parse(JSON.stringify(marshall(item, { removeUndefinedValues: true }))) as Record<
    string,
    LambdaAttributeValue
  >;

const jwk = { kty: 'EC', kid: 'kid-1', use: 'sig', alg: 'ES256', crv: 'P-256', x: 'xx', y: 'yy' } as const;

const active: KeyRecord = {
  keyRef: 'ref-1',
  kid: 'kid-1',
  alg: 'ES256',
  status: 'ACTIVE',
  version: 3,
  vaultKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abc',
  publicJwk: jwk,
  createdAt: 1,
  publishedAt: 2,
  activatedAt: 3,
  changedBy: 'schedule',
  reason: 'period over',
};

const keyItem = (record: { keyRef: string }) => ({
  pk: 'REGISTRY',
  sk: `KEY#${record.keyRef}`,
  registryVersion: 9,
  ...record,
});

describe('isKeyItem / isStateItem', () => {
  it('tells key items, STATE and foreign items apart by their keys', () => {
    const key = { pk: { S: 'REGISTRY' }, sk: { S: 'KEY#ref-1' } };
    const state = { pk: { S: 'REGISTRY' }, sk: { S: 'STATE' } };
    const client = { pk: { S: 'CLIENT#abc' }, sk: { S: 'KEY#ref-1' } };
    expect([isKeyItem(key), isKeyItem(state), isKeyItem(client)]).toEqual([true, false, false]);
    expect([isStateItem(key), isStateItem(state), isStateItem(client)]).toEqual([false, true, false]);
  });
});

describe('keyRecordFromImage', () => {
  it('returns the record without table attributes when the image is a valid key item', () => {
    expect(keyRecordFromImage(image(keyItem(active)))).toEqual(active);
    expect(registryVersionFromImage(image(keyItem(active)))).toBe(9);
  });

  it.each([
    ['an unknown status', { status: 'LIVE' }],
    ['an unknown alg', { alg: 'HS256' }],
    ['a string instant', { createdAt: '2024-01-01' }],
    ['a version of 0', { version: 0 }],
    ['a private member in the JWK', { publicJwk: { ...jwk, d: 'private' } }],
    ['a JWK whose kid differs', { publicJwk: { ...jwk, kid: 'other' } }],
    ['an ACTIVE key without publicJwk', { publicJwk: undefined }],
    ['an sk that names another keyRef', { sk: 'KEY#ref-2' }],
    ['no changedBy', { changedBy: undefined }],
  ])('throws MALFORMED_RECORD when the image has %s', (_, patch) => {
    const corrupt = image({ ...keyItem(active), ...patch });
    expect(() => keyRecordFromImage(corrupt)).toThrow(expect.objectContaining({ code: 'MALFORMED_RECORD' }));
  });

  it('accepts a CREATING intent without kid, key or JWK', () => {
    const intent: KeyRecord = {
      keyRef: 'ref-2',
      alg: 'RS256',
      status: 'CREATING',
      version: 1,
      createdAt: 5,
      changedBy: 'schedule',
      reason: '',
    };
    expect(keyRecordFromImage(image(keyItem(intent)))).toEqual(intent);
  });
});

describe('registryStateFromImage', () => {
  it('returns the state without table attributes when the image is the STATE item', () => {
    const state = {
      registryVersion: 4,
      activeKeyRef: 'ref-1',
      activeKid: 'kid-1',
      activeAlg: 'ES256',
    } as const;
    const item = { pk: 'REGISTRY', sk: 'STATE', changedBy: 'cli:ops', reason: 'revoke', ...state };
    expect(registryStateFromImage(image(item))).toEqual(state);
  });

  it('throws MALFORMED_RECORD when registryVersion is missing', () => {
    expect(() => registryStateFromImage(image({ pk: 'REGISTRY', sk: 'STATE' }))).toThrow(
      expect.objectContaining({ code: 'MALFORMED_RECORD' }),
    );
  });
});
