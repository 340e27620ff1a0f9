import type { DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { RegistryState } from '../../src/core/types.ts';
import { activateOncePublished } from '../../src/local/activate-once-published.ts';

const EVENT = { Records: [] } as unknown as DynamoDBStreamEvent;

function wrapped(state: RegistryState | Error) {
  const publish = vi.fn(async () => ({ batchItemFailures: [{ itemIdentifier: '1' }] }));
  const reconcileNow = vi.fn();
  const readState = async () => {
    if (state instanceof Error) throw state;
    return state;
  };
  return { handler: activateOncePublished(publish, { readState }, reconcileNow), publish, reconcileNow };
}

describe('activateOncePublished', () => {
  it('asks for a reconcile when a publication leaves a standby and no ACTIVE key (after a revoke)', async () => {
    const w = wrapped({ registryVersion: 7, pendingKeyRef: 'p', pendingKid: 'kid-p' });
    const response = await w.handler(EVENT);
    expect(w.publish).toHaveBeenCalledWith(EVENT);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect(w.reconcileNow).toHaveBeenCalledTimes(1);
  });

  it('leaves the schedule alone when a key is ACTIVE', async () => {
    const w = wrapped({ registryVersion: 7, activeKeyRef: 'a', activeKid: 'kid-a', pendingKid: 'kid-p' });
    await w.handler(EVENT);
    expect(w.reconcileNow).not.toHaveBeenCalled();
  });

  it('leaves the schedule alone when the standby has no kid yet (still being created)', async () => {
    const w = wrapped({ registryVersion: 7, pendingKeyRef: 'p' });
    await w.handler(EVENT);
    expect(w.reconcileNow).not.toHaveBeenCalled();
  });

  it('still reports the batch when the state cannot be read', async () => {
    const w = wrapped(new Error('DynamoDB Local restarting'));
    await expect(w.handler(EVENT)).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect(w.reconcileNow).not.toHaveBeenCalled();
  });
});
