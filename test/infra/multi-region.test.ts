/**
 * Multi-region (design §12, ADR 0008): `-c regions=a,b` gives one deployment across regions — a base
 * stack per replica region, the home stack (global table, distribution) and a stack per replica region —
 * while one region or none keeps the single-region template byte for byte.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { AppStacks } from '../../infra/multi-region.ts';
import { PUBLICATION_MARK_ATTRIBUTES } from '../../infra/table-access.ts';
import { ENV, KEY_TAGS, METRICS, MULTI_REGION_OUTPUTS, TABLE } from '../../src/constants.ts';
import { hasCode } from '../../src/errors.ts';
import {
  ACCOUNT,
  define,
  environmentOf,
  HOME,
  NAME,
  ofType,
  REPLICA,
  resources,
  role,
  roleArn,
  statementsOfRole,
} from './multi-region-synth.ts';
import { allowing, asArray, type Statement } from './synth.ts';

describe('a two-region app (-c regions=eu-west-1,us-east-1)', () => {
  const { app, stacks } = define({ regions: `${HOME},${REPLICA}` });
  const { home, replicas, bases } = stacks as AppStacks & { replicas: [Stack]; bases: [Stack] };
  const [replica] = replicas;
  const [base] = bases;

  it('defines a base stack, the home stack and a replica stack, each bound to its region and deployed in that order', () => {
    expect([base.stackName, home.stackName, replica.stackName]).toEqual([
      `${NAME}-${REPLICA}-base`,
      `${NAME}-${HOME}`,
      `${NAME}-${REPLICA}`,
    ]);
    expect([base.region, home.region, replica.region]).toEqual([REPLICA, HOME, REPLICA]);
    expect([base.account, home.account, replica.account]).toEqual([ACCOUNT, ACCOUNT, ACCOUNT]);
    expect(home.dependencies).toEqual([base]);
    expect(new Set(replica.dependencies)).toEqual(new Set([base, home]));
    expect(app.synth().stacks.map((s) => s.stackName)).toHaveLength(3);
  });

  it('makes the registry a global table with a replica in each region, same keys, stream, PITR and deletion protection', () => {
    expect(ofType(home, 'AWS::DynamoDB::Table')).toEqual([]);
    const [table, ...more] = ofType(home, 'AWS::DynamoDB::GlobalTable');
    expect(more).toEqual([]);
    const p = table?.Properties ?? {};
    expect(p.KeySchema).toEqual([
      { AttributeName: TABLE.PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: TABLE.SORT_KEY, KeyType: 'RANGE' },
    ]);
    expect(p.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TABLE.TTL_ATTRIBUTE, Enabled: true });
    expect(p.Replicas.map((r: { Region: string }) => r.Region).sort()).toEqual([HOME, REPLICA].sort());
    for (const r of p.Replicas) {
      expect(r.DeletionProtectionEnabled).toBe(true);
      expect(r.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    expect(ofType(replica, 'AWS::DynamoDB::GlobalTable')).toEqual([]);
  });

  it("consumes each region's own replica stream: the home replica's by GetAtt, the replica's from DescribeTable", () => {
    const homeTableId = Object.entries(resources(home)).find(
      ([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable',
    )?.[0];
    const homeMappings = ofType(home, 'AWS::Lambda::EventSourceMapping');
    expect(homeMappings).toHaveLength(2); // publish and events
    for (const m of homeMappings)
      expect(m.Properties.EventSourceArn).toEqual({ 'Fn::GetAtt': [homeTableId, 'StreamArn'] });

    const all = resources(replica);
    const [lookupId, lookup] = Object.entries(all).find(([, r]) => r.Type === 'Custom::AWS') ?? [];
    expect(JSON.stringify(lookup?.Properties.Create)).toContain('\\"action\\":\\"describeTable\\"');
    const mappings = ofType(replica, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1); // publish only: events come from the home stream
    expect(mappings[0]?.Properties.EventSourceArn).toEqual({
      'Fn::GetAtt': [lookupId, 'Table.LatestStreamArn'],
    });
  });

  it('sets the same REGION_KEY_POLICIES in both rotate functions: every rotate role administers, each region signs and reads its own', () => {
    const expected = {
      [HOME]: {
        adminRoleArns: [roleArn(HOME, 'rotate'), roleArn(REPLICA, 'rotate')],
        signerRoleArns: [roleArn(HOME, 'token')],
        readerRoleArns: [roleArn(HOME, 'publish')],
      },
      [REPLICA]: {
        adminRoleArns: [roleArn(HOME, 'rotate'), roleArn(REPLICA, 'rotate')],
        signerRoleArns: [roleArn(REPLICA, 'token')],
        readerRoleArns: [roleArn(REPLICA, 'publish')],
      },
    };
    for (const [stack, region] of [
      [home, HOME],
      [replica, REPLICA],
    ] as const) {
      const env = environmentOf(stack, role(region, 'rotate'));
      expect(JSON.parse(env[ENV.REGION_KEY_POLICIES] as string)).toEqual(expected);
      expect(env[ENV.REGIONS]).toBe(`${HOME},${REPLICA}`);
      expect(env[ENV.MAX_REPLICATION_LAG]).toBe('30s');
      expect(env).not.toHaveProperty(ENV.REGION); // Lambda sets AWS_REGION itself
      expect(env[ENV.DEPLOYMENT_NAME]).toBe(NAME); // one KMS tag value across regions
    }
  });

  it('creates every role a key policy names before the home stack: the home roles in it, the replica roles in the base stack', () => {
    const named = (stack: Stack) =>
      ofType(stack, 'AWS::IAM::Role')
        .map((r) => r.Properties.RoleName)
        .filter(Boolean)
        .sort();
    expect(named(home)).toEqual(['publish', 'rotate', 'token'].map((w) => role(HOME, w)));
    expect(named(base)).toEqual(['publish', 'rotate', 'token'].map((w) => role(REPLICA, w)));
    // The replica stack's functions run as the base stack's roles.
    const roles = ofType(replica, 'AWS::Lambda::Function').map((f) => JSON.stringify(f.Properties.Role));
    for (const w of ['publish', 'rotate', 'token']) {
      expect(roles.some((r) => r.includes(`:role/${role(REPLICA, w)}`))).toBe(true);
    }
  });

  it('lets each rotate role create multi-Region keys and replicate its region’s keys into the other region only, with the deployment tags', () => {
    for (const [stack, region, other] of [
      [home, HOME, REPLICA],
      [replica, REPLICA, HOME],
    ] as const) {
      const statements = statementsOfRole(stack, role(region, 'rotate'));
      const creates = allowing(statements, 'kms:CreateKey');
      const primary = creates.find((s) => s.Sid === 'CreateTaggedSigningKeysOnly');
      expect(primary?.Condition?.Bool).toEqual({
        'kms:BypassPolicyLockoutSafetyCheck': 'true',
        'kms:MultiRegion': 'true',
      });
      expect(primary?.Condition?.StringEquals).toMatchObject({
        'kms:KeySpec': 'RSA_2048',
        'kms:KeyUsage': 'SIGN_VERIFY',
        'aws:RequestedRegion': { Ref: 'AWS::Region' },
      });
      expect(primary?.Condition?.StringEqualsIfExists).toEqual({ 'kms:KeyOrigin': 'AWS_KMS' });
      const replicaCreate = creates.find((s) => s.Sid === 'CreateReplicasInTheDeploymentsRegionsOnly');
      expect(replicaCreate?.Condition?.StringEquals).toEqual({
        [`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]: NAME,
        'aws:RequestedRegion': [other],
      });
      expect(replicaCreate?.Condition?.['ForAllValues:StringEquals']).toEqual({
        'aws:TagKeys': [KEY_TAGS.DEPLOYMENT, KEY_TAGS.KEY_REF],
      });
      expect(replicaCreate?.Condition?.StringEqualsIfExists).toEqual({
        'kms:KeyUsage': 'SIGN_VERIFY',
        'kms:KeySpec': 'RSA_2048',
        'kms:KeyOrigin': 'AWS_KMS',
      });
      expect(replicaCreate?.Condition?.BoolIfExists).toEqual({ 'kms:MultiRegion': 'true' });
      expect(creates).toHaveLength(2);

      // ReplicateKey is the primary key's policy's alone (RotationRoleReplicate), wherever the primary is.
      expect(allowing(statements, 'kms:ReplicateKey')).toEqual([]);
      // The keyRef tag of its own region's copy, before replicating it.
      const [tagsRead, ...moreReads] = allowing(statements, 'kms:ListResourceTags');
      expect(moreReads).toEqual([]);
      expect(tagsRead?.Condition).toEqual({
        StringEquals: { [`aws:ResourceTag/${KEY_TAGS.DEPLOYMENT}`]: NAME },
      });
      expect(JSON.stringify(tagsRead?.Resource)).toContain(
        '":kms:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":key/*"',
      );
      // KMS's multi-Region service-linked role, and no other.
      const [slr, ...moreSlr] = allowing(statements, 'iam:CreateServiceLinkedRole');
      expect(moreSlr).toEqual([]);
      expect(slr?.Condition).toEqual({ StringEquals: { 'iam:AWSServiceName': 'mrk.kms.amazonaws.com' } });
      // The primary rolls publication marks up and promote-region updates STATE.
      const registry = statements.find((s) => s.Sid === 'ReadAndCommitTheRegistry');
      expect(asArray(registry?.Action)).toContain('dynamodb:UpdateItem');

      const tags = allowing(statements, 'kms:TagResource');
      expect(JSON.stringify(tags.map((t) => t.Resource))).toContain(`:kms:${other}:`);
      for (const t of tags)
        expect(t.Condition?.StringEquals?.[`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]).toBe(NAME);
      // Nothing destructive through IAM: disable and deletion come from each replica's key policy.
      for (const action of ['kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:Sign', 'kms:PutKeyPolicy'])
        expect(allowing(statements, action)).toEqual([]);
    }
  });

  it("lets each region's publisher put its publication items and never update a KEY item", () => {
    for (const [stack, region] of [
      [home, HOME],
      [replica, REPLICA],
    ] as const) {
      const statements = statementsOfRole(stack, role(region, 'publish'));
      const read = statements.find((s) => s.Sid === 'ReadRegistry');
      expect(asArray(read?.Action)).toEqual(['dynamodb:Query']);
      const mark = statements.find((s) => s.Sid === 'MarkPublishedOnly');
      expect(asArray(mark?.Action)).toEqual(['dynamodb:PutItem']);
      expect(mark?.Condition?.['ForAllValues:StringLike']).toEqual({
        'dynamodb:LeadingKeys': [TABLE.REGISTRY_PARTITION],
      });
      // Only a publication item's attributes: never a KEY item's status, STATE or a PROMOTION item.
      expect(mark?.Condition?.['ForAllValues:StringEquals']).toEqual({
        'dynamodb:Attributes': [...PUBLICATION_MARK_ATTRIBUTES.multiRegion],
      });
      expect(allowing(statements, 'dynamodb:UpdateItem')).toEqual([]);
      // Withdrawing its JWKS outside the serving set: DeleteObject on that one object, nothing else.
      const deletes = allowing(statements, 's3:DeleteObject');
      expect(deletes.map((d) => d.Sid)).toEqual(['WithdrawJwksOutsideTheServingSet']);
      const resource = JSON.stringify(deletes[0]?.Resource);
      expect(resource).toMatch(/\/\.well-known\/jwks\.json"\]\]\}$/);
      expect(resource).not.toContain('*');
      // Copying REVOKED records into its own list: PutObject under revocations/ (create-only by the
      // bucket policy), besides its documents.
      const mirror = statements.find((s) => s.Sid === 'MirrorRevocationList');
      expect(asArray(mirror?.Action)).toEqual(['s3:PutObject']);
      expect(JSON.stringify(mirror?.Resource)).toMatch(/\/revocations\/\*"\]\]\}$/);
    }
    // The replica's grants name its own replica of the table.
    const token = statementsOfRole(replica, role(REPLICA, 'token'));
    expect(JSON.stringify(token.find((s) => s.Sid === 'ReadSignerStateAndClients')?.Resource)).toContain(
      `:dynamodb:${REPLICA}:${ACCOUNT}:table/`,
    );
  });

  it('serves the documents from an origin group that fails over to the replica region’s bucket on 403/404/5xx', () => {
    const [distribution] = ofType(home, 'AWS::CloudFront::Distribution');
    const config = distribution?.Properties.DistributionConfig;
    const [group, ...more] = config.OriginGroups.Items;
    expect(more).toEqual([]);
    expect(group.FailoverCriteria.StatusCodes.Items).toEqual([403, 404, 500, 502, 503, 504]);
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe(group.Id);
    const [primaryId, fallbackId] = group.Members.Items.map((m: { OriginId: string }) => m.OriginId);
    const origin = (id: string) => config.Origins.find((o: { Id: string }) => o.Id === id);
    expect(JSON.stringify(origin(primaryId).DomainName)).toContain('StorageContent');
    // The fallback's domain is the base stack's bucket, read across regions (never a predicted name).
    expect(JSON.stringify(origin(fallbackId).DomainName)).toMatch(
      /ExportsReader.*baseuseast1.*RegionalDomainName/,
    );
    expect(origin(primaryId).OriginAccessControlId).toEqual(origin(fallbackId).OriginAccessControlId);
    // A dead home bucket fails over within seconds, not CloudFront's default 3 × 10 s (issue 20 §5).
    expect(origin(primaryId)).toMatchObject({
      ConnectionAttempts: 1,
      ConnectionTimeout: 2,
      S3OriginConfig: { OriginReadTimeout: 4 },
    });
    expect(origin(fallbackId)).toMatchObject({
      ConnectionAttempts: 2,
      ConnectionTimeout: 3,
      S3OriginConfig: { OriginReadTimeout: 8 },
    });
    const worst = (o: {
      ConnectionAttempts: number;
      ConnectionTimeout: number;
      S3OriginConfig: { OriginReadTimeout: number };
    }) => o.ConnectionAttempts * (o.ConnectionTimeout + o.S3OriginConfig.OriginReadTimeout);
    expect(worst(origin(primaryId))).toBeLessThanOrEqual(6);
    // POST /oauth2/token cannot fail over: it goes to the home region's API only.
    const token = config.CacheBehaviors.find(
      (b: { PathPattern: string }) => b.PathPattern === '/oauth2/token',
    );
    expect(config.OriginGroups.Items.map((g: { Id: string }) => g.Id)).not.toContain(token.TargetOriginId);
    expect(ofType(replica, 'AWS::CloudFront::Distribution')).toEqual([]);
  });

  it("lets this account's distributions read the base bucket's documents but never its revocation list", () => {
    const policies = ofType(base, 'AWS::S3::BucketPolicy').flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    const read = policies.find((s) => s.Sid === 'EdgeOfThisAccountReadsDocuments');
    expect(read?.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(read?.Action).toBe('s3:GetObject');
    expect(read?.Condition?.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    const deny = policies.find((s) => s.Sid === 'EdgeServesDocumentsNotTheRevocationList');
    expect(deny?.Effect).toBe('Deny');
    expect(JSON.stringify(deny?.Resource)).toContain('/revocations/*');
  });

  it('gives the replica region the home issuer and distribution, and no events consumer of its own', () => {
    const env = environmentOf(replica, role(REPLICA, 'publish'));
    expect(JSON.stringify(env[ENV.ISSUER])).toMatch(/ExportsReader.*DomainName/);
    expect(JSON.stringify(env[ENV.DISTRIBUTION_ID])).toMatch(/ExportsReader.*Distribution/);
    expect(env).not.toHaveProperty(ENV.TOPIC_ARN);
    const [invalidate] = allowing(
      statementsOfRole(replica, role(REPLICA, 'publish')),
      'cloudfront:CreateInvalidation',
    );
    expect(JSON.stringify(invalidate?.Resource)).toMatch(/:distribution\/.*ExportsReader.*Distribution/);
    expect(ofType(replica, 'AWS::SNS::Topic')).toHaveLength(1); // the alarm topic only
    expect(ofType(replica, 'AWS::S3::Bucket')).toEqual([]); // its buckets are the base stack's
    const [bucket] = ofType(base, 'AWS::S3::Bucket').filter((b) => b.Properties.BucketName);
    expect(bucket?.Properties.BucketName).toMatch(
      new RegExp(`^jwkspublisher-prod-[0-9a-f]{6}-${ACCOUNT}-${REPLICA}$`),
    );
    expect(env[ENV.BUCKET_NAME]).toBe(bucket?.Properties.BucketName);
  });

  it("gives each region's token function its own execute-api token URL, the one assertion audience only it accepts", () => {
    const urls = [home, replica].map((stack, i) => {
      const region = i === 0 ? HOME : REPLICA;
      const url = JSON.stringify(environmentOf(stack, role(region, 'token'))[ENV.TOKEN_ENDPOINT_URL]);
      const [api] =
        Object.entries(resources(stack)).find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi') ?? [];
      expect(url).toContain(`{"Ref":"${api}"}`);
      expect(url).toContain(`.execute-api.${region}.`);
      expect(url).toMatch(/\/prod\/oauth2\/token"/);
      return url;
    });
    expect(urls[0]).not.toBe(urls[1]);
  });

  it('alarms on replication slower than maxReplicationLag to the other region, a primary that stopped reconciling and fenced writes', () => {
    for (const [stack, other] of [
      [home, REPLICA],
      [replica, HOME],
    ] as const) {
      const alarms = ofType(stack, 'AWS::CloudWatch::Alarm').map((a) => a.Properties);
      const latency = alarms.filter((a) => a.MetricName === 'ReplicationLatency');
      expect(latency).toHaveLength(1);
      expect(latency[0]?.Namespace).toBe('AWS/DynamoDB');
      expect(latency[0]?.Threshold).toBe(30_000);
      expect(latency[0]?.ComparisonOperator).toBe('GreaterThanThreshold');
      expect(latency[0]?.Dimensions).toContainEqual({ Name: 'ReceivingRegion', Value: other });

      const overdue = alarms.find((a) => a.MetricName === METRICS.OVERDUE_ACTIONS);
      expect(overdue).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        Period: 3600,
      });
      const fenced = alarms.find((a) => a.MetricName === METRICS.FENCED_WRITES);
      expect(fenced).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      for (const a of [overdue, fenced]) expect(a?.AlarmActions).toHaveLength(1);
    }
  });

  it("alarms in each region when the other region's heartbeat grows stale there, and when it is missing", () => {
    for (const [stack, other, self] of [
      [home, REPLICA, HOME],
      [replica, HOME, REPLICA],
    ] as const) {
      const alarms = ofType(stack, 'AWS::CloudWatch::Alarm').map((a) => a.Properties);
      const heartbeat = alarms.filter((a) => a.MetricName === METRICS.REPLICA_HEARTBEAT_AGE);
      expect(heartbeat).toHaveLength(1);
      expect(heartbeat[0]).toMatchObject({
        Namespace: 'JwksPublisher',
        Statistic: 'Maximum',
        Period: 3600,
        EvaluationPeriods: 1,
        // Two hourly rotate intervals plus the 30 s maxReplicationLag, in seconds (the metric's unit).
        Threshold: 2 * 3600 + 30,
        ComparisonOperator: 'GreaterThanThreshold',
        // A stalled replica or a rotate function that stopped reports no age: that must alarm.
        TreatMissingData: 'breaching',
      });
      expect(heartbeat[0]?.Dimensions).toContainEqual({ Name: 'SourceRegion', Value: other });
      expect(heartbeat[0]?.Dimensions).toContainEqual({ Name: 'service', Value: 'jwks-rotate' });
      expect(heartbeat[0]?.AlarmActions).toHaveLength(1);
      expect(JSON.stringify(heartbeat)).not.toContain(`"Value":"${self}"`);
    }
  });

  it("lets each region's rotate function write only its own heartbeat and read only the other's", () => {
    for (const [stack, self, other] of [
      [home, HOME, REPLICA],
      [replica, REPLICA, HOME],
    ] as const) {
      const statements = statementsOfRole(stack, role(self, 'rotate'));
      const write = statements.find((s) => s.Sid === 'WriteThisRegionsHeartbeat');
      expect(asArray(write?.Action)).toEqual(['dynamodb:PutItem']);
      expect(write?.Condition?.['ForAllValues:StringLike']).toEqual({
        'dynamodb:LeadingKeys': [`HEARTBEAT#${self}`],
      });
      expect(write?.Condition?.['ForAllValues:StringEquals']).toEqual({
        'dynamodb:Attributes': ['pk', 'sk', 'region', 'beatAt'],
      });
      const read = statements.find((s) => s.Sid === 'ReadOtherRegionsHeartbeats');
      expect(asArray(read?.Action)).toEqual(['dynamodb:GetItem']);
      expect(read?.Condition?.['ForAllValues:StringLike']).toEqual({
        'dynamodb:LeadingKeys': [`HEARTBEAT#${other}`],
      });
    }
  });

  it('names the regions, home first, in an output of each regional stack for `jwks status --stack`', () => {
    for (const stack of [home, replica]) {
      const outputs = Template.fromStack(stack).toJSON().Outputs;
      expect(outputs[MULTI_REGION_OUTPUTS.REGIONS]?.Value).toBe(`${HOME},${REPLICA}`);
    }
  });

  it('leaves no unacknowledged cdk-nag finding in any of the three stacks', () => {
    const violations = new AwsSolutionsChecks().validateScope(app).violations;
    expect(
      violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });
});

describe('multi-region settings', () => {
  it('takes maxReplicationLag from context into the policy and the replication alarms', () => {
    const { stacks } = define({ regions: `${HOME},${REPLICA}`, maxReplicationLag: '45s' });
    const alarm = ofType(stacks.home, 'AWS::CloudWatch::Alarm').find(
      (a) => a.Properties.MetricName === 'ReplicationLatency',
    );
    expect(alarm?.Properties.Threshold).toBe(45_000);
    expect(environmentOf(stacks.home, role(HOME, 'rotate'))[ENV.MAX_REPLICATION_LAG]).toBe('45s');
  });

  it.each([
    [{ retention: '3905s' }, 'retention'], // enough in one region, not with the 30 s lag
    [{ maxReplicationLag: '0s' }, 'maxReplicationLag'],
  ])('refuses the policy %j across regions, naming %s', (policy, setting) => {
    expect(() => define({ regions: `${HOME},${REPLICA}`, ...policy })).toThrow(
      expect.objectContaining({ code: 'INVALID_POLICY', setting }),
    );
  });

  it.each([
    [`${HOME},${HOME}`, 'a region listed twice'],
    ['eu-west-1,mars-north-1a', 'a malformed region'],
    ['eu-west-1,cn-north-1', 'two partitions'],
  ])('refuses regions=%s (%s) naming the setting', (regions) => {
    let error: unknown;
    try {
      define({ regions });
    } catch (err) {
      error = err;
    }
    expect(hasCode(error, 'INVALID_CONFIG')).toBe(true);
    expect(error).toMatchObject({ variable: 'regions' });
  });

  it('refuses several regions without an explicit account, naming the account setting', () => {
    expect(() => define({ regions: `${HOME},${REPLICA}` }, {})).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: 'account' }),
    );
  });

  it('refuses a stack name its regional stack names would carry over 128 characters', () => {
    expect(() => define({ regions: `${HOME},${REPLICA}`, stackName: `J${'x'.repeat(115)}` })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: 'stackName' }),
    );
  });

  it("refuses one region that is not the CLI's region instead of deploying elsewhere", () => {
    expect(() => define({ regions: REPLICA }, { account: ACCOUNT, defaultRegion: HOME })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: 'regions' }),
    );
  });
});

describe('a single-region app', () => {
  it('synthesizes the same template with regions unset, empty or naming the one region', () => {
    const template = (context: Record<string, unknown>) =>
      JSON.stringify(
        Template.fromStack(define(context, { account: ACCOUNT, defaultRegion: HOME }).stacks.home).toJSON(),
      );
    const plain = template({});
    expect(template({ regions: HOME })).toBe(plain);
    expect(template({ regions: '' })).toBe(plain);
    // Nothing of the multi-region path leaks into it.
    expect(plain).not.toContain(ENV.REGIONS);
    expect(plain).not.toContain('GlobalTable');
    expect(plain).not.toContain(`"${MULTI_REGION_OUTPUTS.REGIONS}"`);
    expect(plain).not.toContain('kms:ReplicateKey');
    // One region pins single-Region keys (BoolIfExists false); it never allows a multi-Region one.
    expect(plain).not.toContain('"kms:MultiRegion":"true"');
    expect(plain).not.toContain('iam:CreateServiceLinkedRole');
    expect(plain).not.toContain('ReplicationLatency');
    expect(plain).not.toContain('WithdrawJwksOutsideTheServingSet');
    expect(plain).not.toContain('MirrorRevocationList');
  });
});
