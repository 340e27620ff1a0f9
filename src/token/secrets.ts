/**
 * Client secrets: generated with 256 bits of entropy, stored only as a salted scrypt hash in the PHC
 * string format (the parameters travel with the hash, so they can be raised later without breaking
 * stored clients), compared in constant time.
 *
 * Why scrypt (node:crypto) and these parameters: the secrets are random, so no work factor is needed
 * against guessing; the memory-hard hash is defence in depth should a weaker secret ever be stored.
 * N = 2^14, r = 8, p = 1 is node's default and the classic interactive setting; verification runs on
 * libuv's thread pool, off the event loop, and SecretVerifier caches successful verifications so the
 * cost is paid once per client per container, not per token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7914
 * @see https://github.com/P-H-C/phc-string-format/blob/master/phc-sf-spec.md
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.10 (credentials guessing)
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { MalformedRecordError } from '../errors.ts';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

export const SCRYPT_PARAMS: ScryptParams = Object.freeze({ ln: 14, r: 8, p: 1 });
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** 32 random bytes, base64url: 43 characters, 256 bits (RFC 6749 §10.10 asks for high entropy). */
const SECRET_BYTES = 32;

/** Bounds a stored hash's parameters must respect, so a corrupt item cannot make us allocate gigabytes. */
const BOUNDS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;

const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{32,88})$/;

export interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** A new client secret: 32 random bytes, base64url (no padding). Shown once, never stored. */
export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

function derive(secret: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(secret.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** The PHC string for `secret` with a fresh random salt. */
export async function hashSecret(secret: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, params, HASH_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** Parse and bound-check a stored hash. @throws MalformedRecordError */
export function parseSecretHash(encoded: string): ParsedHash {
  const m = PHC.exec(encoded);
  if (!m) throw new MalformedRecordError('client secretHash is not a $scrypt$ PHC string');
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = BOUNDS[name];
    if (params[name] < min || params[name] > max) {
      throw new MalformedRecordError(`client secretHash: ${name}=${params[name]} is outside ${min}–${max}`);
    }
  }
  const salt = Buffer.from(String(m[4]), 'base64');
  const hash = Buffer.from(String(m[5]), 'base64');
  if (salt.length < 16 || hash.length < 16) throw new MalformedRecordError('client secretHash is too short');
  return { params, salt, hash };
}

/**
 * Whether `secret` matches `encoded`. The derived bytes are compared with timingSafeEqual, so the
 * comparison's duration does not depend on how many leading bytes match.
 */
export async function verifySecretHash(secret: string, encoded: string | ParsedHash): Promise<boolean> {
  const parsed = typeof encoded === 'string' ? parseSecretHash(encoded) : encoded;
  const derived = await derive(secret, parsed.salt, parsed.params, parsed.hash.length);
  return timingSafeEqual(derived, parsed.hash);
}
