import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../src/constants.ts';
import {
  allowedActions,
  allowing,
  asArray,
  logicalId,
  roleStatements,
  type Statement,
  synth,
} from './synth.ts';

/** The thrown error of a function (fails the test if it does not throw). */
function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected an error');
}

describe('JwksEvents', () => {
  const { stack, template } = synth();
  const events = stack.publisher.events;
  const resources = template.toJSON().Resources;
  const topicId = logicalId(events.topic);
  const keyId = logicalId(events.topicKey);
  const auditId = logicalId(events.auditBucket);
  const queueId = logicalId(events.failureQueue);
  const statements = roleStatements(template, events.handler.role);
  const auditObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [auditId, 'Arn'] }, '/audit/*']] };
  const bucketPolicy = () => {
    const [policy, ...more] = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter(
      (p) => p.Properties.Bucket.Ref === auditId,
    );
    expect(more).toHaveLength(0);
    return policy?.Properties.PolicyDocument.Statement as Statement[];
  };

  describe('topic', () => {
    it('is encrypted with its own rotating customer managed key', () => {
      expect(resources[topicId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
      expect(keyId).not.toBe(logicalId(stack.publisher.alarms.node.findChild('TopicKey')));
    });

    it('lets SNS use the key only for topics of this account and region', () => {
      const statement = (resources[keyId].Properties.KeyPolicy.Statement as Statement[]).find(
        (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'sns.amazonaws.com' }),
      );
      expect(asArray(statement?.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
      const arn = JSON.stringify(statement?.Condition?.ArnLike?.['kms:EncryptionContext:aws:sns:topicArn']);
      expect(arn).toContain(':sns:');
      expect(arn).toContain('AWS::AccountId');
      expect(arn).toContain('AWS::Region');
    });

    it('refuses publishing over plain HTTP', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('audit bucket', () => {
    it('locks every record in governance mode for auditRetention (365 days) by default', () => {
      expect(resources[auditId].Properties).toMatchObject({
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
      });
    });

    it('locks in compliance mode for the configured days when auditLockMode=compliance', () => {
      const custom = synth({ auditLockMode: 'compliance', auditRetention: '30d' });
      const bucket = custom.template.toJSON().Resources[logicalId(custom.stack.publisher.events.auditBucket)];
      expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({
        Mode: 'COMPLIANCE',
        Days: 30,
      });
    });

    it.each([
      [{ auditLockMode: 'legal-hold' }, 'auditLockMode'],
      [{ auditRetention: '36501d' }, 'auditRetention'],
    ])('refuses %j naming %s', (context, variable) => {
      expect(thrown(() => synth(context))).toMatchObject({ code: 'INVALID_CONFIG', variable });
    });

    it('denies s3:BypassGovernanceRetention to every principal', () => {
      const deny = bucketPolicy().find((s) => asArray(s.Action).includes('s3:BypassGovernanceRetention'));
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [auditId, 'Arn'] }, '/*']] },
      });
      expect(deny?.Condition).toBeUndefined();
    });

    it('denies everyone deleting records and writing anything but If-None-Match creates', () => {
      const statements = bucketPolicy();
      const deletes = statements.find((s) => asArray(s.Action).includes('s3:DeleteObjectVersion'));
      expect(deletes).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Resource: auditObjects });
      expect(asArray(deletes?.Action)).toContain('s3:DeleteObject');
      const puts = statements.find((s) => asArray(s.Action).includes('s3:PutObject') && s.Effect === 'Deny');
      expect(puts).toMatchObject({
        Principal: { AWS: '*' },
        Resource: auditObjects,
        Condition: { Null: { 's3:if-none-match': 'true' } },
      });
      expect(statements.find((s) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false')?.Effect).toBe(
        'Deny',
      );
    });

    it('blocks public access, encrypts and logs access to the log bucket', () => {
      expect(resources[auditId].Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: logicalId(stack.publisher.storage.logBucket) },
        },
      });
      expect(template.toJSON().Resources[auditId].DeletionPolicy).toBe('Retain');
    });
  });

  describe('stream consumer', () => {
    it('consumes the registry stream with the publisher failure handling and one batch per shard', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.publisher.registry.table), 'StreamArn'] },
        FunctionName: { Ref: logicalId(events.handler.function) },
        StartingPosition: 'TRIM_HORIZON',
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 6 * 3600,
        ParallelizationFactor: 1,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
      expect(resources[queueId].Properties.SqsManagedSseEnabled).toBe(true);
      // The two consumers a stream shard allows: publish and events, nothing else.
      expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(2);
    });

    it('runs the events entry with the topic, the audit bucket, the issuer and the deployment (its metric dimension), and nothing more', () => {
      const fn = resources[logicalId(events.handler.function)].Properties;
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(fn.Environment.Variables).toEqual({
        [ENV.TOPIC_ARN]: { Ref: topicId },
        [ENV.AUDIT_BUCKET_NAME]: { Ref: auditId },
        [ENV.ISSUER]: {
          'Fn::Join': [
            '',
            [
              'https://',
              { 'Fn::GetAtt': [logicalId(stack.publisher.distribution.distribution), 'DomainName'] },
            ],
          ],
        },
        [ENV.DEPLOYMENT_NAME]: stack.publisher.settings.deploymentName,
        NODE_OPTIONS: '--enable-source-maps',
      });
    });
  });

  describe('events role', () => {
    it('publishes to this topic only', () => {
      const publish = allowing(statements, 'sns:Publish');
      expect(publish.flatMap((s) => asArray(s.Resource))).toEqual([{ Ref: topicId }]);
      expect(JSON.stringify(publish)).not.toContain(logicalId(stack.publisher.alarms.topic));
      expect(allowedActions(statements).filter((a) => a.startsWith('sns:'))).toEqual(['sns:Publish']);
    });

    it("uses only the topic's key, to generate and decrypt data keys", () => {
      const kms = statements.filter((s) => allowedActions([s]).some((a) => a.startsWith('kms:')));
      expect(kms.flatMap((s) => asArray(s.Resource))).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
      expect(allowedActions(kms).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    });

    it('creates, reads and lists audit records and nothing else in S3', () => {
      const s3 = statements.filter((s) => allowedActions([s]).some((a) => a.startsWith('s3:')));
      expect(s3.map((s) => [asArray(s.Action).sort(), s.Resource])).toEqual([
        [['s3:GetObject', 's3:PutObject'], auditObjects],
        [['s3:ListBucket'], { 'Fn::GetAtt': [auditId, 'Arn'] }],
      ]);
      for (const action of [
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutObjectRetention',
        's3:BypassGovernanceRetention',
        's3:PutObjectLegalHold',
        's3:PutBucketObjectLockConfiguration',
        's3:PutBucketPolicy',
      ]) {
        expect(allowing(statements, action), action).toEqual([]);
      }
    });

    it('reads the registry only through its stream', () => {
      const dynamo = allowedActions(statements).filter((a) => a.startsWith('dynamodb:'));
      expect(dynamo.sort()).toEqual([
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
      ]);
    });
  });
});
