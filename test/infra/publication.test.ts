import { describe, expect, it } from 'vitest';
import { ENV, KEY_TAGS, OBJECT_KEYS } from '../../src/constants.ts';
import { allowedActions, allowing, asArray, logicalId, roleStatements, synth } from './synth.ts';

describe('JwksPublication', () => {
  const { stack, template } = synth();
  const publication = stack.publisher.publication;
  const tableId = logicalId(stack.publisher.registry.table);
  const bucketId = logicalId(stack.publisher.storage.bucket);
  const queueId = logicalId(publication.failureQueue);
  const statements = roleStatements(template, publication.handler.role);
  const objectArn = (key: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${key}`]] });

  it('consumes the registry stream from TRIM_HORIZON with per-item failures, bisection and bounded retries', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      FunctionName: { Ref: logicalId(publication.handler.function) },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  it('sends given-up records to an encrypted queue that refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          },
        ],
      },
    });
  });

  it('reads the table with Query and writes only through UpdateItem (publishedAt)', () => {
    const onTable = statements.filter(
      (s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] }),
    );
    expect(allowedActions(onTable).sort()).toEqual(['dynamodb:Query', 'dynamodb:UpdateItem']);
    for (const write of [
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:Scan',
    ]) {
      expect(allowing(statements, write), write).toEqual([]);
    }
  });

  it('writes the published documents and nothing else in the bucket', () => {
    const [put, ...more] = allowing(statements, 's3:PutObject');
    expect(more).toHaveLength(0);
    expect(asArray(put?.Resource)).toEqual([
      objectArn(OBJECT_KEYS.JWKS),
      objectArn(OBJECT_KEYS.OAUTH_METADATA),
      objectArn(OBJECT_KEYS.OPENID_CONFIGURATION),
    ]);
    const readable = allowing(statements, 's3:GetObject').flatMap((s) => asArray(s.Resource));
    expect(readable).toEqual(
      expect.arrayContaining([objectArn(OBJECT_KEYS.JWKS), objectArn(`${OBJECT_KEYS.REVOCATIONS_PREFIX}*`)]),
    );
    expect(readable).not.toContainEqual(objectArn('*'));
    for (const action of ['s3:DeleteObject', 's3:PutBucketPolicy', 's3:PutObjectAcl']) {
      expect(allowing(statements, action), action).toEqual([]);
    }
  });

  it('may invalidate this distribution only', () => {
    const [invalidate, ...more] = allowing(statements, 'cloudfront:CreateInvalidation');
    expect(more).toHaveLength(0);
    const resource = JSON.stringify(invalidate?.Resource);
    expect(resource).toContain(':distribution/');
    expect(resource).toContain(`"Ref":"${logicalId(stack.publisher.distribution.distribution)}"`);
  });

  it('tells the handler where to publish and what to invalidate', () => {
    const fn = template.toJSON().Resources[logicalId(publication.handler.function)].Properties;
    expect(fn.Environment.Variables).toMatchObject({
      [ENV.BUCKET_NAME]: { Ref: bucketId },
      [ENV.DISTRIBUTION_ID]: { Ref: logicalId(stack.publisher.distribution.distribution) },
      [ENV.TABLE_NAME]: { Ref: tableId },
      [ENV.TOPIC_ARN]: { Ref: logicalId(stack.publisher.events.topic) },
      [ENV.ISSUER]: {
        'Fn::Join': [
          '',
          [
            'https://',
            { 'Fn::GetAtt': [logicalId(stack.publisher.distribution.distribution), 'DomainName'] },
          ],
        ],
      },
    });
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
  });

  it("may read tags and public keys of this deployment's tagged KMS keys only (the vault proof)", () => {
    const kms = allowing(statements, 'kms:GetPublicKey');
    expect(kms).toHaveLength(1);
    expect(asArray(kms[0]?.Action).sort()).toEqual(['kms:GetPublicKey', 'kms:ListResourceTags']);
    expect(JSON.stringify(kms[0]?.Resource)).toContain(':key/*');
    expect(kms[0]?.Condition).toEqual({
      StringEquals: { [`aws:ResourceTag/${KEY_TAGS.DEPLOYMENT}`]: stack.publisher.settings.deploymentName },
    });
    const env =
      template.toJSON().Resources[logicalId(publication.handler.function)].Properties.Environment.Variables;
    expect(env[ENV.DEPLOYMENT_NAME]).toBe(stack.publisher.settings.deploymentName);
  });

  it('may publish jwks.published to the events topic only, with its key and no other SNS or KMS action', () => {
    const topicId = logicalId(stack.publisher.events.topic);
    const publish = allowing(statements, 'sns:Publish');
    expect(publish.flatMap((s) => asArray(s.Resource))).toEqual([{ Ref: topicId }]);
    expect(JSON.stringify(publish)).not.toContain(logicalId(stack.publisher.alarms.topic));
    expect(allowedActions(statements).filter((a) => a.startsWith('sns:'))).toEqual(['sns:Publish']);
    const kms = statements.filter((s) =>
      allowedActions([s]).some(
        (a) => a.startsWith('kms:') && !['kms:GetPublicKey', 'kms:ListResourceTags'].includes(a),
      ),
    );
    expect(kms.flatMap((s) => asArray(s.Resource))).toEqual([
      { 'Fn::GetAtt': [logicalId(stack.publisher.events.topicKey), 'Arn'] },
    ]);
    expect(allowedActions(kms).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  it('grants S3 and DynamoDB exactly the publication needs (the event grant adds none)', () => {
    const granted = (prefix: string) =>
      statements
        .filter((s) => allowedActions([s]).some((a) => a.startsWith(prefix)))
        .map((s) => [asArray(s.Action).sort(), s.Resource]);
    expect(granted('s3:')).toEqual([
      [
        ['s3:GetObject', 's3:PutObject'],
        [
          objectArn(OBJECT_KEYS.JWKS),
          objectArn(OBJECT_KEYS.OAUTH_METADATA),
          objectArn(OBJECT_KEYS.OPENID_CONFIGURATION),
        ],
      ],
      [['s3:GetObject'], objectArn(`${OBJECT_KEYS.REVOCATIONS_PREFIX}*`)],
      [['s3:ListBucket'], { 'Fn::GetAtt': [bucketId, 'Arn'] }],
    ]);
    expect(
      allowedActions(statements)
        .filter((a) => a.startsWith('dynamodb:'))
        .sort(),
    ).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
  });
});
