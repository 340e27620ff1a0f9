/**
 * An ObjectStore and a Cdn whose SDK client is loaded on first use. `jwks status` reads only the
 * registry; parsing the S3 and CloudFront clients (~1.3 MB of bundled SDK) was most of its start.
 */
import type { Cdn, ObjectStore } from '../ports.ts';

export function lazyObjectStore(load: () => Promise<ObjectStore>): ObjectStore {
  let store: Promise<ObjectStore> | undefined;
  const get = () => {
    store ??= load();
    return store;
  };
  return {
    head: async (key) => (await get()).head(key),
    get: async (key) => (await get()).get(key),
    put: async (input) => (await get()).put(input),
    list: async (prefix) => (await get()).list(prefix),
    delete: async (key) => (await get()).delete(key),
  };
}

export function lazyCdn(load: () => Promise<Cdn>): Cdn {
  let cdn: Promise<Cdn> | undefined;
  return {
    invalidate: async (paths, callerReference) => {
      cdn ??= load();
      return (await cdn).invalidate(paths, callerReference);
    },
  };
}
