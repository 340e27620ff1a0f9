/**
 * S3 replaces an object atomically: a GET returns the old object or the new one, whole, under its own
 * ETag. s3rver's filesystem store does not: a PUT rewrites the object file in place, then its `.md5`
 * and metadata files, so a GET racing it could return part of a body, a body under another body's ETag,
 * or `ETag: ""` (the `.md5` file read while it was being rewritten). A verifier polling a regional JWKS
 * once got half a document that way. This makes the embedded S3 keep S3's promise, for one process
 * (every client of the local stack's buckets goes through this one s3rver):
 * - per key, writes (PUT, COPY onto it, DELETE) exclude each other and reads; reads share;
 * - a GET reads the whole object under the lock and hands s3rver a buffer, so a slow client never
 *   holds the lock (the objects here are small: documents, audit records);
 * - a PUT writes a temporary file and renames it into place, and drops the `.md5` file first, so a
 *   crash (SIGKILL) at any step leaves the old object or the new one with a digest that matches it
 *   (s3rver recomputes a missing `.md5` from the body).
 * Plain JavaScript: it runs in s3rver's child process (s3rver-process.mjs) without a TypeScript loader.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const S3Object = createRequire(import.meta.url)('s3rver/lib/models/object.js');

/** What s3rver's putMetadata keeps of a request's metadata (its own rule, from its object model). */
function storedMetadata(metadata) {
  const json = {};
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) json[name] = value;
  }
  return json;
}

/** A readers-writer lock per key, first come first served (a waiting writer holds back later readers). */
export function keyLocks() {
  const entries = new Map();
  const pump = (key, entry) => {
    while (entry.queue.length > 0) {
      const next = entry.queue[0];
      if (entry.writer || (next.write && entry.readers > 0)) break;
      entry.queue.shift();
      if (next.write) entry.writer = true;
      else entry.readers++;
      next.grant();
      if (next.write) break;
    }
    if (!entry.writer && entry.readers === 0 && entry.queue.length === 0) entries.delete(key);
  };
  const run = async (key, write, fn) => {
    let entry = entries.get(key);
    if (!entry) {
      entry = { readers: 0, writer: false, queue: [] };
      entries.set(key, entry);
    }
    const held = entry;
    await new Promise((grant) => {
      held.queue.push({ write, grant });
      pump(key, held);
    });
    try {
      return await fn();
    } finally {
      if (write) held.writer = false;
      else held.readers--;
      pump(key, held);
    }
  };
  return {
    shared: (key, fn) => run(key, false, fn),
    exclusive: (key, fn) => run(key, true, fn),
    /** Keys with a holder or a waiter (for tests: the lock leaves nothing behind). */
    get size() {
      return entries.size;
    },
  };
}

let tmpCounter = 0;
const tmpOf = (path) => `${path}.${process.pid}-${++tmpCounter}.tmp`;

async function writeAtomic(path, data) {
  const tmp = tmpOf(path);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const ignoreMissing = (err) => {
  if (err?.code !== 'ENOENT') throw err;
};

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Wrap s3rver's FilesystemStore (`server.store`) in place. */
export function makeAtomic(store) {
  const locks = keyLocks();
  const id = (bucket, key) => `${bucket}\u0000${key}`;
  const getObject = store.getObject.bind(store);
  const deleteObject = store.deleteObject.bind(store);
  const copyObject = store.copyObject.bind(store);

  store.getObject = (bucket, key, options) =>
    locks.shared(id(bucket, key), async () => {
      const object = await getObject(bucket, key, options);
      if (object?.content) object.content = Readable.from([await readAll(object.content)]);
      return object;
    });

  store.putObject = (object) =>
    locks.exclusive(id(object.bucket, object.key), async () => {
      const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
      const md5Path = store.getResourcePath(object.bucket, object.key, 'object.md5');
      await mkdir(dirname(objectPath), { recursive: true });
      const tmp = tmpOf(objectPath);
      const digest = createHash('md5');
      let size = 0;
      const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
      const count = new Transform({
        transform(chunk, encoding, callback) {
          digest.update(chunk, encoding);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      try {
        await pipeline(source, count, createWriteStream(tmp));
      } catch (err) {
        await unlink(tmp).catch(ignoreMissing);
        throw err;
      }
      const md5 = digest.digest('hex');
      // No `.md5` while the body changes: a crash here leaves a body whose digest s3rver recomputes.
      await unlink(md5Path).catch(ignoreMissing);
      await rename(tmp, objectPath);
      // s3rver's own putMetadata writes both files in place; they are replaced like the body instead.
      const metadataPath = store.getResourcePath(object.bucket, object.key, 'metadata.json');
      await writeAtomic(metadataPath, JSON.stringify(storedMetadata(object.metadata), null, 2));
      await writeAtomic(md5Path, md5);
      return { size, md5 };
    });

  store.deleteObject = (bucket, key) => locks.exclusive(id(bucket, key), () => deleteObject(bucket, key));

  store.copyObject = (srcBucket, srcKey, destBucket, destKey, replacementMetadata) =>
    locks.exclusive(id(destBucket, destKey), () =>
      copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata),
    );

  return store;
}
