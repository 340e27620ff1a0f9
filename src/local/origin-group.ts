/**
 * The local stand-ins for a region's availability (ADR 0008, "On one machine"): a region's bucket that
 * stops answering while the region is down, and CloudFront's origin group in front of the regions'
 * buckets. An origin group fails over per request, in order, when an origin answers 403, 404 or 5xx;
 * locally an error thrown by the store, or no such object, is that answer.
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html
 */
import { JwksError } from '../errors.ts';
import type { ObjectStore, StoredObject } from '../ports.ts';
import type { EdgeOrigin } from './edge-server.ts';

/** Thrown by a down region's bucket: what a client of an unreachable region's S3 endpoint gets. */
export class RegionDownError extends JwksError {
  constructor(region: string) {
    super('UPSTREAM', `region ${region} is down (simulated)`);
  }
}

/** `store` while `isUp()`; every call fails with RegionDownError otherwise. */
export function regionalStore(region: string, store: ObjectStore, isUp: () => boolean): ObjectStore {
  const gate = <T>(call: () => Promise<T>): Promise<T> =>
    isUp() ? call() : Promise.reject(new RegionDownError(region));
  return {
    head: (key) => gate(() => store.head(key)),
    get: (key) => gate(() => store.get(key)),
    put: (input) => gate(() => store.put(input)),
    list: (prefix) => gate(() => store.list(prefix)),
    delete: (key) => gate(() => store.delete(key)),
  };
}

/**
 * The first origin that has the object answers; an origin that fails or lacks it hands over to the
 * next, and the last one's answer (the object, not found, or its failure) is the group's, as CloudFront
 * returns the failover origin's response.
 */
export function originGroup(origins: readonly EdgeOrigin[]): EdgeOrigin {
  if (origins.length === 0) throw new JwksError('INVALID_ARGUMENT', 'an origin group needs an origin');
  const last = origins[origins.length - 1] as EdgeOrigin;
  return {
    async get(key: string): Promise<StoredObject | null> {
      for (const origin of origins.slice(0, -1)) {
        try {
          const object = await origin.get(key);
          if (object) return object;
        } catch {
          // A failover criterion: the next origin answers.
        }
      }
      return last.get(key);
    },
  };
}
