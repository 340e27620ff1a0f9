/**
 * One deployment's worth of in-memory fakes sharing a fault injector, wired the way the handlers
 * wire the real adapters: the reconciler/operations get registry+vault(+store), the publisher
 * registry+store+cdn.
 */
import type { Policy } from '../../src/core/types.ts';
import type { OperationDeps } from '../../src/operations.ts';
import type { PublishDeps } from '../../src/publisher.ts';
import { Faults, MemoryCdn, MemoryKeyVault, MemoryObjectStore, MemoryRegistry } from './memory.ts';

export interface World {
  readonly faults: Faults;
  readonly registry: MemoryRegistry;
  readonly vault: MemoryKeyVault;
  readonly store: MemoryObjectStore;
  readonly cdn: MemoryCdn;
  readonly ops: OperationDeps;
  readonly publish: PublishDeps;
}

export function makeWorld(policy: Policy, opts: { keyRefPrefix?: string } = {}): World {
  const faults = new Faults();
  const registry = new MemoryRegistry({ faults });
  const vault = new MemoryKeyVault({ faults });
  const store = new MemoryObjectStore({ faults });
  const cdn = new MemoryCdn({ faults });
  let n = 0;
  const prefix = opts.keyRefPrefix ?? 'ref';
  const newKeyRef = () => `${prefix}-${String(++n).padStart(3, '0')}`;
  return {
    faults,
    registry,
    vault,
    store,
    cdn,
    ops: { registry, vault, store, policy, newKeyRef },
    publish: { registry, store, cdn, policy, vault },
  };
}
