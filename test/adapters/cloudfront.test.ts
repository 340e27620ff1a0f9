import {
  AccessDenied,
  CloudFrontClient,
  CloudFrontServiceException,
  CreateInvalidationCommand,
  TooManyInvalidationsInProgress,
} from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudFrontCdn } from '../../src/adapters/aws/cloudfront.ts';
import { hasCode, InvalidationError } from '../../src/errors.ts';

const client = new CloudFrontClient({ region: 'us-east-1' });
const cf = mockClient(client);

const tooMany = () =>
  new TooManyInvalidationsInProgress({ message: 'too many', $metadata: { httpStatusCode: 400 } });
const serviceError = (name: string, httpStatusCode: number) =>
  new CloudFrontServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: name });
const ok = {
  Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(0), InvalidationBatch: undefined },
};

function cdnWith(opts: { maxAttempts?: number; random?: () => number } = {}) {
  const delays: number[] = [];
  const cdn = new CloudFrontCdn({
    client,
    distributionId: 'E123',
    baseDelayMs: 100,
    maxDelayMs: 5_000,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: opts.random ?? (() => 0.999),
    ...(opts.maxAttempts !== undefined && { maxAttempts: opts.maxAttempts }),
  });
  return { cdn, delays };
}

const sentReferences = () =>
  cf.commandCalls(CreateInvalidationCommand).map((c) => c.args[0].input.InvalidationBatch?.CallerReference);

describe('CloudFrontCdn.invalidate', () => {
  beforeEach(() => {
    cf.reset();
  });

  it('sends the distribution, the paths with their quantity and the caller reference', async () => {
    cf.on(CreateInvalidationCommand).resolves(ok);
    const { cdn, delays } = cdnWith();
    await cdn.invalidate(['/.well-known/jwks.json', '/.well-known/openid-configuration'], '7-abc');
    const calls = cf.commandCalls(CreateInvalidationCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      DistributionId: 'E123',
      InvalidationBatch: {
        CallerReference: '7-abc',
        Paths: { Quantity: 2, Items: ['/.well-known/jwks.json', '/.well-known/openid-configuration'] },
      },
    });
    expect(delays).toEqual([]);
  });

  it('sends each path once when the same path is given twice', async () => {
    cf.on(CreateInvalidationCommand).resolves(ok);
    await cdnWith().cdn.invalidate(['/a', '/a'], 'ref');
    expect(cf.commandCalls(CreateInvalidationCommand)[0]?.args[0].input.InvalidationBatch?.Paths).toEqual({
      Quantity: 1,
      Items: ['/a'],
    });
  });

  it('makes no call when there is nothing to invalidate', async () => {
    await cdnWith().cdn.invalidate([], 'ref');
    expect(cf.commandCalls(CreateInvalidationCommand)).toHaveLength(0);
  });

  it('succeeds on the third call with growing waits when TooManyInvalidationsInProgress comes twice', async () => {
    cf.on(CreateInvalidationCommand).rejectsOnce(tooMany()).rejectsOnce(tooMany()).resolves(ok);
    const { cdn, delays } = cdnWith();
    await cdn.invalidate(['/.well-known/jwks.json'], '7-abc');
    expect(cf.commandCalls(CreateInvalidationCommand)).toHaveLength(3);
    expect(sentReferences()).toEqual(['7-abc', '7-abc', '7-abc']);
    expect(delays).toHaveLength(2);
    expect(delays[1]).toBeGreaterThan(delays[0] ?? Number.POSITIVE_INFINITY);
  });

  it('keeps every wait under the exponential ceiling and the cap when jitter varies', async () => {
    cf.on(CreateInvalidationCommand).rejects(serviceError('Throttling', 400));
    const draws = [0.5, 0.1, 0.9, 0.3, 0.99, 0.7, 0.2, 0.8, 0.6];
    let i = 0;
    const { cdn, delays } = cdnWith({ maxAttempts: 10, random: () => draws[i++ % draws.length] ?? 0 });
    await expect(cdn.invalidate(['/x'], 'r')).rejects.toBeInstanceOf(InvalidationError);
    expect(delays).toHaveLength(9);
    delays.forEach((ms, n) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(5_000, 100 * 2 ** n));
    });
  });

  it.each([
    ['Throttling', 400],
    ['SlowDown', 503],
    ['TooManyRequests', 429],
  ])(
    'throws INVALIDATION_FAILED after maxAttempts calls when always answered %s (%i)',
    async (name, status) => {
      const last = serviceError(name, status);
      cf.on(CreateInvalidationCommand).rejects(last);
      const { cdn, delays } = cdnWith({ maxAttempts: 4 });
      const err = await cdn.invalidate(['/.well-known/jwks.json'], '7-abc').catch((e: unknown) => e);
      expect(hasCode(err, 'INVALIDATION_FAILED')).toBe(true);
      expect((err as Error).cause).toBe(last);
      expect(cf.commandCalls(CreateInvalidationCommand)).toHaveLength(4);
      expect(delays).toHaveLength(3);
    },
  );

  it('throws INVALIDATION_FAILED after one call when access is denied', async () => {
    const denied = new AccessDenied({ message: 'no', $metadata: { httpStatusCode: 403 } });
    cf.on(CreateInvalidationCommand).rejects(denied);
    const { cdn, delays } = cdnWith();
    const err = await cdn.invalidate(['/.well-known/jwks.json'], '7-abc').catch((e: unknown) => e);
    expect(hasCode(err, 'INVALIDATION_FAILED')).toBe(true);
    expect((err as Error).cause).toBe(denied);
    expect(cf.commandCalls(CreateInvalidationCommand)).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('retries under a deterministic path-qualified reference when the reference was used for other paths', async () => {
    cf.on(CreateInvalidationCommand)
      .rejectsOnce(serviceError('InvalidationBatchAlreadyExists', 409))
      .resolvesOnce(ok)
      .rejectsOnce(serviceError('InvalidationBatchAlreadyExists', 409))
      .resolvesOnce(ok);
    const { cdn, delays } = cdnWith();
    await cdn.invalidate(['/.well-known/jwks.json', '/x'], '7-abc');
    await cdn.invalidate(['/.well-known/jwks.json', '/x'], '7-abc');
    const [first, qualified, again, qualifiedAgain] = sentReferences();
    expect(first).toBe('7-abc');
    expect(again).toBe('7-abc');
    expect(qualified).not.toBe('7-abc');
    expect(qualified?.startsWith('7-abc')).toBe(true);
    expect(qualifiedAgain).toBe(qualified);
    expect(delays).toEqual([]);
  });

  it('fails when even the path-qualified reference is refused as already existing', async () => {
    cf.on(CreateInvalidationCommand).rejects(serviceError('InvalidationBatchAlreadyExists', 409));
    const err = await cdnWith()
      .cdn.invalidate(['/a'], 'r')
      .catch((e: unknown) => e);
    expect(hasCode(err, 'INVALIDATION_FAILED')).toBe(true);
    expect(cf.commandCalls(CreateInvalidationCommand)).toHaveLength(2);
  });
});
