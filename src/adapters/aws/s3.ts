/**
 * ObjectStore over S3 (or s3rver locally, through `AWS_ENDPOINT_URL_S3`). Holds the published JWKS and
 * discovery documents and the append-only revocation list.
 *
 * Conditional writes use S3's `If-Match` / `If-None-Match` on PutObject, so two publishers racing can
 * never overwrite each other's document: the loser gets PreconditionFailedError and starts over.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { JwksError, PreconditionFailedError } from '../../errors.ts';
import type { ObjectStore, PutObjectInput, StoredObject, StoredObjectHead } from '../../ports.ts';

interface AwsErrorShape {
  readonly name?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const errorName = (err: unknown): string | undefined => (err as AwsErrorShape | null)?.name;
const errorStatus = (err: unknown): number | undefined =>
  (err as AwsErrorShape | null)?.$metadata?.httpStatusCode;

/**
 * HeadObject has no response body, so a missing key arrives as a bare `NotFound` (404); GetObject says
 * `NoSuchKey`. A missing *bucket* is `NoSuchBucket` on GET and must not read as "no object".
 */
const isMissingKey = (err: unknown): boolean => {
  const name = errorName(err);
  return name === 'NoSuchKey' || (name === 'NotFound' && errorStatus(err) === 404);
};

/**
 * 412 PreconditionFailed: the ETag no longer matches, or `If-None-Match: *` found an object.
 * 409 ConditionalRequestConflict: a concurrent conditional write to the same key won.
 */
const isConditionFailure = (err: unknown): boolean => {
  const name = errorName(err);
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || errorStatus(err) === 412;
};

/** S3 returns user metadata lower-cased already; normalise anyway so every store agrees (ports.ts). */
function lowerCaseKeys(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) out[name.toLowerCase()] = value;
  return out;
}

function toHead(out: HeadObjectCommandOutput | GetObjectCommandOutput, key: string): StoredObjectHead {
  if (!out.ETag) throw new JwksError('UPSTREAM', `S3 returned no ETag for ${key}`);
  return {
    etag: out.ETag,
    metadata: lowerCaseKeys(out.Metadata),
    ...(out.ContentType !== undefined && { contentType: out.ContentType }),
    ...(out.CacheControl !== undefined && { cacheControl: out.CacheControl }),
    ...(out.LastModified !== undefined && { lastModified: out.LastModified }),
  };
}

export interface S3ObjectStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** ListObjectsV2 page size (S3 caps it at 1000, the default). Smaller values exercise paging. */
  readonly pageSize?: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #pageSize: number | undefined;

  constructor(opts: S3ObjectStoreOptions) {
    this.#client = opts.client;
    this.#bucket = opts.bucket;
    this.#pageSize = opts.pageSize;
  }

  async head(key: string): Promise<StoredObjectHead | null> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return toHead(out, key);
    } catch (err) {
      if (isMissingKey(err)) return null;
      throw err;
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (err) {
      if (isMissingKey(err)) return null;
      throw err;
    }
    const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    return { ...toHead(out, key), body };
  }

  async put(input: PutObjectInput): Promise<{ etag: string }> {
    const command: PutObjectCommandInput = {
      Bucket: this.#bucket,
      Key: input.key,
      Body: input.body,
      ContentType: input.contentType,
      ...(input.cacheControl !== undefined && { CacheControl: input.cacheControl }),
      ...(input.metadata !== undefined && { Metadata: { ...input.metadata } }),
      ...(input.ifMatch !== undefined && { IfMatch: input.ifMatch }),
      ...(input.ifNoneMatch !== undefined && { IfNoneMatch: input.ifNoneMatch }),
      // S3 verifies the body against the caller's digest and stores it with the object (Object Lock
      // buckets require an integrity checksum on every write).
      ...(input.checksumSha256 !== undefined && {
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: input.checksumSha256,
      }),
    };
    try {
      const out = await this.#client.send(new PutObjectCommand(command));
      if (!out.ETag) throw new JwksError('UPSTREAM', `S3 returned no ETag for ${input.key}`);
      return { etag: out.ETag };
    } catch (err) {
      // `If-Match` on a key that has since been deleted answers 404 NoSuchKey: the same lost race.
      if (isConditionFailure(err) || (input.ifMatch !== undefined && isMissingKey(err))) {
        throw new PreconditionFailedError(`conditional write of ${input.key} lost to another writer`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** DeleteObject succeeds for a missing key too (S3: 204), as the port asks. */
  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const pages = paginateListObjectsV2(
      { client: this.#client, ...(this.#pageSize !== undefined && { pageSize: this.#pageSize }) },
      { Bucket: this.#bucket, Prefix: prefix },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    }
    return keys;
  }
}
