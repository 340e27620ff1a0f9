/**
 * The first reconcile during the deployment (infra/first-reconcile.ts): so NoSuccessfulReconcile
 * (missing data breaching) does not fire on a fresh stack, and the first key exists when it returns.
 */
import { describe, expect, it } from 'vitest';
import { logicalId, synth } from './synth.ts';

describe('FirstReconcile', () => {
  const { stack, template } = synth();
  const p = stack.publisher;
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }
  >;
  const [triggerId, trigger] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::Trigger') ?? [];

  it('invokes the current version of the rotate function once, synchronously, during the deployment', () => {
    expect(Object.values(resources).filter((r) => r.Type === 'Custom::Trigger')).toHaveLength(1);
    const version = resources[(trigger?.Properties.HandlerArn as { Ref: string } | undefined)?.Ref ?? ''];
    expect(version?.Type).toBe('AWS::Lambda::Version');
    expect(version?.Properties.FunctionName).toEqual({ Ref: logicalId(p.rotation.handler.function) });
    expect(trigger?.Properties).toMatchObject({
      InvocationType: 'RequestResponse',
      ExecuteOnHandlerChange: true,
    });
  });

  it('runs after the table, the publisher and events stream mappings, the distribution and the rotator policy', () => {
    const dependsOn = trigger?.DependsOn ?? [];
    const mappings = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping')
      .map(([id]) => id);
    expect(mappings).toHaveLength(2);
    for (const id of [
      ...mappings,
      logicalId(p.registry.table),
      logicalId(p.distribution.distribution),
      logicalId(p.storage.bucket),
      logicalId(p.rotation.handler.role),
      logicalId(p.token.handler.role),
    ]) {
      expect(dependsOn, id).toContain(id);
    }
    const rotatePolicy = Object.entries(resources).find(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: logicalId(p.rotation.handler.role) }]),
    );
    expect(dependsOn).toContain(rotatePolicy?.[0]);
  });

  it('creates the NoSuccessfulReconcile alarm only after the run, and no other alarm waits for it', () => {
    const waiting = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && r.DependsOn?.includes(triggerId as string))
      .map(([id]) => id);
    expect(waiting).toEqual([logicalId(p.alarms.noSuccessfulReconcile)]);
  });

  it('lets the trigger provider invoke only the rotate function', () => {
    const invokers = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Role')
      .flatMap((r) => (r.Properties.Policies as Array<{ PolicyDocument: { Statement: unknown[] } }>) ?? [])
      .flatMap((pol) => pol.PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>)
      .filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect(invokers).toHaveLength(1);
    expect(JSON.stringify(invokers[0]?.Resource)).toContain(logicalId(p.rotation.handler.function));
  });
});
