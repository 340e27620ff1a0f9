/**
 * What the local edge writes: a stored object the way CloudFront passes an S3 object on (same bytes,
 * Content-Type, Cache-Control, ETag, Last-Modified; 304 on a matching precondition), JSON errors with no
 * stack trace, and the raw answer to a request node could not even parse.
 */
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { CacheResult } from './edge-cache.ts';
import { ifNoneMatchMatches, notModifiedSince } from './http-conditional.ts';

/** Sent on every response, errors included. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
};

/**
 * Added on the public documents only, errors there included (design §5: verifiers in browsers fetch
 * the JWKS cross-origin). Nothing else on the edge grants CORS (design §11).
 */
export const PUBLIC_DOCUMENT_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
};

const EDGE_NAME = 'local-edge';

/** S3 ETags are quoted; a bare one would not be a valid entity-tag (RFC 9110 §8.8.3). */
const quotedEtag = (etag: string): string => (/^(W\/)?".*"$/.test(etag) ? etag : `"${etag}"`);

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Readonly<Record<string, unknown>>,
  headers: Readonly<Record<string, string>> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    // An error is about this moment; no cache layer should keep it.
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** The headers of one stored object that do not change between requests, computed once per object. */
interface ObjectHeaders {
  readonly validators: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly contentLength: string;
}

// The cache hands out the same StoredObject for every hit, so this is computed once per cached copy
// (the hot path of a JWKS fetch: formatting a date and quoting an ETag per request cost ~10%).
const objectHeaders = new WeakMap<object, ObjectHeaders>();

function headersOf(object: CacheResult['object']): ObjectHeaders {
  let headers = objectHeaders.get(object);
  if (!headers) {
    const validators: Record<string, string> = { ETag: quotedEtag(object.etag) };
    if (object.cacheControl !== undefined) validators['Cache-Control'] = object.cacheControl;
    if (object.lastModified !== undefined) validators['Last-Modified'] = object.lastModified.toUTCString();
    headers = {
      validators,
      contentType: object.contentType ?? 'application/octet-stream',
      contentLength: String(object.body.byteLength),
    };
    objectHeaders.set(object, headers);
  }
  return headers;
}

/** A cache hit's complete header list, flat ([name, value, …]) as `writeHead` takes it without copying. */
interface HitHeaders {
  readonly ageSeconds: number;
  readonly list: readonly string[];
}

const hitHeaderLists = new WeakMap<object, HitHeaders>();
const textBodies = new WeakMap<object, string | Uint8Array>();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as it is best handed to `res.end`: the same bytes as a string when they are UTF-8 (every
 * document the edge serves is JSON), because node then writes head and body in one `write` instead of
 * a two-buffer `writev`; else the bytes. Decoded once per cached copy.
 */
export function hitBody(object: CacheResult['object']): string | Uint8Array {
  let body = textBodies.get(object);
  if (body === undefined) {
    try {
      body = utf8.decode(object.body);
      // A string that would not encode back to the very same bytes (it cannot, after a fatal decode,
      // but Content-Length depends on it) falls back to the bytes.
      if (Buffer.byteLength(body) !== object.body.byteLength) body = object.body;
    } catch {
      body = object.body;
    }
    textBodies.set(object, body);
  }
  return body;
}

/**
 * The headers of a 200 from a fresh cached copy: those `sendObject` writes for a Hit (common, validators,
 * Age, X-Cache, Content-Type, Content-Length), built once per copy and second of age, so the edge's hot
 * path formats nothing per request.
 */
export function hitHeaders(object: CacheResult['object'], ageMs: number): readonly string[] {
  const ageSeconds = Math.floor(ageMs / 1000);
  const cached = hitHeaderLists.get(object);
  if (cached?.ageSeconds === ageSeconds) return cached.list;
  const base = headersOf(object);
  const list = [
    ...Object.entries(COMMON_HEADERS).flat(),
    // A fresh hit is always one of the public documents.
    ...Object.entries(PUBLIC_DOCUMENT_HEADERS).flat(),
    ...Object.entries(base.validators).flat(),
    'Age',
    String(ageSeconds),
    'X-Cache',
    `Hit from ${EDGE_NAME}`,
    'Content-Type',
    base.contentType,
    'Content-Length',
    base.contentLength,
  ];
  hitHeaderLists.set(object, { ageSeconds, list });
  return list;
}

/** 200 with the object, or 304 when the request's precondition says the client already has it. */
export function sendObject(req: IncomingMessage, res: ServerResponse, result: CacheResult): void {
  const { object } = result;
  const base = headersOf(object);
  const validators: Record<string, string> = { ...base.validators };
  if (result.status !== 'Miss') validators.Age = String(Math.floor(result.ageMs / 1000));
  validators['X-Cache'] = `${result.status} from ${EDGE_NAME}`;

  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const notModified =
    inm !== undefined
      ? ifNoneMatchMatches(inm, validators.ETag ?? '')
      : ims !== undefined && notModifiedSince(ims, object.lastModified);
  if (notModified) {
    // RFC 9110 §15.4.5: a 304 carries the validators and Cache-Control a 200 would have, no content.
    res.writeHead(304, validators);
    res.end();
    return;
  }
  validators['Content-Type'] = base.contentType;
  validators['Content-Length'] = base.contentLength;
  res.writeHead(200, validators);
  res.end(req.method === 'HEAD' ? undefined : object.body);
}

/**
 * The whole response for a request node's parser rejected (no IncomingMessage exists): 431 for
 * oversized headers, 408 for a request that timed out, 400 otherwise. Written straight to the socket.
 */
export function rawClientErrorResponse(errCode: string | undefined): string {
  const status = errCode === 'HPE_HEADER_OVERFLOW' ? 431 : errCode === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({ error: status === 431 ? 'request_header_fields_too_large' : 'bad_request' });
  const headers = {
    ...COMMON_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}
