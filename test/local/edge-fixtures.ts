/** Shared fixtures for the local edge tests: a controllable ObjectStore, raw socket requests, a log. */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { Log, ObjectStore, PutObjectInput, StoredObject } from '../../src/ports.ts';

export const JWKS_CC = 'public, max-age=60, stale-if-error=30';

/** An ObjectStore whose reads can be counted, failed and held back. */
export class FakeStore implements ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  gets = 0;
  failure: Error | undefined;
  /** Fail this many reads (then succeed), like s3rver while it rewrites an object. */
  failNext = 0;
  gate: Promise<void> | undefined;
  /** Return this many torn reads (half the body under the whole body's ETag), like s3rver mid-rewrite. */
  tornNext = 0;

  set(key: string, body: string, cacheControl: string | undefined = JWKS_CC): string {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(key, {
      body: new TextEncoder().encode(body),
      etag,
      contentType: 'application/json',
      ...(cacheControl !== undefined && { cacheControl }),
      lastModified: new Date(Date.UTC(2030, 0, 1, 0, 0, 0)),
      metadata: {},
    });
    return etag;
  }
  async get(key: string): Promise<StoredObject | null> {
    this.gets++;
    await this.gate;
    if (this.failure) throw this.failure;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('origin read failed');
    }
    const object = this.objects.get(key) ?? null;
    if (object && this.tornNext > 0) {
      this.tornNext--;
      return { ...object, body: object.body.subarray(0, Math.floor(object.body.byteLength / 2)) };
    }
    return object;
  }
  async head(key: string) {
    return (await this.get(key)) ?? null;
  }
  async put(input: PutObjectInput) {
    return { etag: this.set(input.key, new TextDecoder().decode(input.body), input.cacheControl) };
  }
  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix));
  }
  async delete(key: string) {
    this.objects.delete(key);
  }
}

/** Send raw bytes and read until the server closes (or a response arrives and the socket idles). */
export function rawRequest(url: string, bytes: string): Promise<string> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
    socket.setTimeout(2_000, () => socket.destroy());
    socket.write(bytes);
  });
}

export const recordingLog = (): Log & { errors: unknown[][] } => {
  const errors: unknown[][] = [];
  return { info() {}, warn() {}, error: (...args: unknown[]) => void errors.push(args), errors };
};
