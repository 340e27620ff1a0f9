/**
 * s3rver rewrites an object's file in place (and its metadata in a second file), so a read that races
 * a publication can return a truncated body, or the new bytes under the old ETag: a verifier polling
 * the local edge once got half a JWKS. S3 itself replaces objects atomically, and CloudFront never sees
 * this; the local edge checks what it read instead. A single-part S3 ETag is the MD5 of the body
 * (RFC 9110 §8.8.3 leaves the value opaque; S3 documents MD5 for single-part uploads without SSE-KMS,
 * which is what s3rver writes), so a body whose MD5 differs is a torn read: it throws, the edge cache
 * retries the read and, failing that, serves its last good copy — never the torn bytes.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html (ETag)
 */
import { createHash } from 'node:crypto';
import { TornReadError } from '../errors.ts';
import type { StoredObject } from '../ports.ts';

const MD5_ETAG = /^"?([0-9a-f]{32})"?$/i;
const MULTIPART_ETAG = /^"?[0-9a-f]{32}-[1-9][0-9]*"?$/i;

export function intactOrThrow(object: StoredObject | null): StoredObject | null {
  if (object === null) return null;
  // A multipart ETag ("…-N") names no digest of the whole body to check against.
  if (MULTIPART_ETAG.test(object.etag)) return object;
  const md5 = MD5_ETAG.exec(object.etag)?.[1];
  // Anything else is a metadata file read mid-rewrite: s3rver answers `ETag: ""` then, with whatever
  // part of the body it had (seen racing a publisher: an empty body, half a JWKS). Treating such an
  // ETag as opaque once let a regional route serve those bytes.
  if (md5 === undefined) {
    throw new TornReadError(
      `origin returned ${object.body.byteLength} bytes under a malformed ETag ${object.etag}`,
    );
  }
  const actual = createHash('md5').update(object.body).digest('hex');
  if (actual !== md5.toLowerCase()) {
    throw new TornReadError(
      `origin returned ${object.body.byteLength} bytes whose MD5 ${actual} is not the ETag ${object.etag}`,
    );
  }
  return object;
}
