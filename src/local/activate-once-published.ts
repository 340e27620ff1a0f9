/**
 * After an emergency revoke with no published standby, no key is ACTIVE until the publisher has
 * published one (design §3): the token endpoint answers 503 meanwhile. On AWS the rotate function that
 * ran the revoke waits for that publication and activates then; locally the reconciler runs on a
 * schedule of up to a minute, so the publish consumer asks for a run as soon as a batch it handled
 * leaves the registry with a PENDING standby and no ACTIVE key — seconds instead of a minute.
 */
import type { Registry } from '../ports.ts';
import type { StreamHandler } from './stream-mapping.ts';

export function activateOncePublished(
  publish: StreamHandler,
  registry: Pick<Registry, 'readState'>,
  reconcileNow: () => unknown,
): StreamHandler {
  return async (event) => {
    const response = await publish(event);
    // A failed read only leaves the activation to the schedule: the publication itself succeeded.
    const state = await registry.readState().catch(() => undefined);
    // Not awaited: the reconcile run waits for this consumer's publication marks, which follow it.
    if (state && state.activeKeyRef === undefined && state.pendingKid !== undefined) void reconcileNow();
    return response;
  };
}
