/**
 * JWS Compact Serialization for an external signer (RFC 7515 §7.1):
 * `BASE64URL(UTF8(header)) '.' BASE64URL(payload)` is the signing input (§5.1) that the key
 * vault signs; the token is the signing input, '.', and BASE64URL(signature).
 *
 * Hand-written because jose signs only with keys it can use itself (`SignJWT` needs a CryptoKey or
 * KeyObject) and has no hook for a remote signer such as KMS; node-oidc-provider builds its tokens
 * with KMS-style signers the same way. Verification is left to jose (`jwtVerify`), never done here.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-7.1
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-7.1
 */
import { InvalidArgumentError } from '../errors.ts';
import { algorithmSpec } from './algorithms.ts';
import type { Algorithm } from './types.ts';

/** The protected header we emit: nothing else (no `jku`/`x5u`/`crit`, which verifiers might follow). */
export interface JwsHeader {
  readonly alg: Algorithm;
  readonly kid: string;
  /** RFC 7519 §5.1 / RFC 9068 §2.1 (`at+jwt`); omitted when undefined. */
  readonly typ?: string;
}

export interface SigningInput {
  /** The ASCII signing input `header.payload`. */
  readonly text: string;
  /** The same as bytes: what the vault signs. */
  readonly bytes: Uint8Array;
}

/** RFC 7515 §2 base64url without padding; node's Buffer does it natively, several times faster than a JS codec. */
const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

export function encodeHeader(header: JwsHeader): string {
  // Build the object member by member: a fixed order keeps tokens byte-stable, and no stray member
  // from the caller's object reaches the header.
  const spec = algorithmSpec(header.alg);
  if (!nonEmpty(header.kid)) throw new InvalidArgumentError('JWS header needs a kid');
  if (header.typ !== undefined && !nonEmpty(header.typ))
    throw new InvalidArgumentError('JWS typ must be non-empty');
  const ordered =
    header.typ === undefined
      ? { alg: spec.alg, kid: header.kid }
      : { alg: spec.alg, kid: header.kid, typ: header.typ };
  return b64url(JSON.stringify(ordered));
}

function encodePayload(payload: Uint8Array | Record<string, unknown>): string {
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString('base64url');
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new InvalidArgumentError('JWT claims must be a JSON object');
  }
  return b64url(JSON.stringify(payload));
}

/**
 * The JWS signing input for `header` and `payload` (a claims object is serialized as JSON).
 * @throws UnsupportedAlgorithmError for an algorithm we do not sign with; InvalidArgumentError otherwise.
 */
export function jwsSigningInput(
  header: JwsHeader,
  payload: Uint8Array | Record<string, unknown>,
): SigningInput {
  return signingInputOf(encodeHeader(header), payload);
}

/** The signing input for an already encoded header (a signer reuses it for every token of one key). */
export function signingInputOf(
  encodedHeader: string,
  payload: Uint8Array | Record<string, unknown>,
): SigningInput {
  const text = `${encodedHeader}.${encodePayload(payload)}`;
  return { text, bytes: Buffer.from(text, 'utf8') };
}

/** The compact JWS: signing input, '.', BASE64URL(signature) (RSA raw; ECDSA JOSE R‖S). */
export function compactJws(signingInput: SigningInput | string, signature: Uint8Array): string {
  if (signature.length === 0) throw new InvalidArgumentError('empty JWS signature');
  const text = typeof signingInput === 'string' ? signingInput : signingInput.text;
  return `${text}.${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64url')}`;
}
