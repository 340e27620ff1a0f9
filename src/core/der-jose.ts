/**
 * ECDSA signature conversion between the ASN.1 DER form KMS returns
 * (`Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`, RFC 3279 §2.2.3) and the JOSE form
 * (R‖S, each an unsigned big-endian integer left-padded to the curve's field length:
 * 32 bytes for ES256, 48 for ES384).
 *
 * Hand-written because no library we use exposes it for a *remote* signer: jose converts only
 * inside its own `sign`/`verify` (it is not exported), and node's `dsaEncoding: 'ieee-p1363'`
 * applies only to keys node itself holds — KMS hands us DER bytes from a key we never see.
 *
 * Lengths: for ES256/ES384 the SEQUENCE content is at most 2 × (2 + 1 + 48) = 102 bytes, so DER
 * always uses the short length form; the parser still understands long forms (minimal encoding
 * only, as DER requires) so that an oversized input is rejected for its size, not misparsed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.4
 * @see https://www.rfc-editor.org/rfc/rfc3279#section-2.2.3
 */
import { SignatureEncodingError } from '../errors.ts';

const SEQUENCE = 0x30;
const INTEGER = 0x02;

interface Tlv {
  readonly value: Uint8Array;
  /** Offset just past this TLV. */
  readonly end: number;
}

function readTlv(der: Uint8Array, offset: number, tag: number, what: string): Tlv {
  if (der[offset] !== tag) throw new SignatureEncodingError(`DER: expected ${what} at byte ${offset}`);
  let pos = offset + 1;
  const first = der[pos++];
  if (first === undefined) throw new SignatureEncodingError(`DER: ${what} has no length`);
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    // 0x80 is BER's indefinite length (not DER); more than 2 length bytes is far beyond any signature.
    if (count === 0 || count > 2) throw new SignatureEncodingError(`DER: unsupported length form in ${what}`);
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = der[pos++];
      if (b === undefined) throw new SignatureEncodingError(`DER: truncated length in ${what}`);
      length = (length << 8) | b;
    }
    if (length < 0x80 || (count === 2 && length < 0x100)) {
      throw new SignatureEncodingError(`DER: non-minimal length in ${what}`);
    }
  }
  const end = pos + length;
  if (end > der.length) throw new SignatureEncodingError(`DER: ${what} overruns the input`);
  return { value: der.subarray(pos, end), end };
}

/** A DER INTEGER's content → its unsigned magnitude (no sign byte), checked to fit `size` bytes. */
function integerMagnitude(content: Uint8Array, size: number, name: string): Uint8Array {
  const [b0, b1] = content;
  if (b0 === undefined) throw new SignatureEncodingError(`DER: empty INTEGER ${name}`);
  if (b0 & 0x80) throw new SignatureEncodingError(`DER: negative INTEGER ${name}`);
  // DER: a leading 0x00 is allowed only when it is the sign byte for a set high bit.
  if (b0 === 0x00 && b1 !== undefined && (b1 & 0x80) === 0) {
    throw new SignatureEncodingError(`DER: non-minimal INTEGER ${name}`);
  }
  const magnitude = b0 === 0x00 ? content.subarray(1) : content;
  if (magnitude.length === 0) throw new SignatureEncodingError(`DER: ${name} is zero`);
  if (magnitude.length > size) throw new SignatureEncodingError(`DER: ${name} longer than ${size} bytes`);
  return magnitude;
}

/**
 * DER `SEQUENCE { r, s }` → JOSE `R‖S` (2 × `size` bytes).
 * @param size bytes per component: 32 (ES256) or 48 (ES384).
 * @throws SignatureEncodingError (`INVALID_SIGNATURE_ENCODING`) on anything that is not strict DER.
 */
export function derToJose(der: Uint8Array, size: number): Uint8Array {
  const seq = readTlv(der, 0, SEQUENCE, 'SEQUENCE');
  if (seq.end !== der.length) throw new SignatureEncodingError('DER: trailing bytes after SEQUENCE');
  const body = seq.value;
  const r = readTlv(body, 0, INTEGER, 'INTEGER r');
  const s = readTlv(body, r.end, INTEGER, 'INTEGER s');
  if (s.end !== body.length) throw new SignatureEncodingError('DER: trailing bytes inside SEQUENCE');
  const out = new Uint8Array(2 * size);
  const rMag = integerMagnitude(r.value, size, 'r');
  const sMag = integerMagnitude(s.value, size, 's');
  out.set(rMag, size - rMag.length);
  out.set(sMag, 2 * size - sMag.length);
  return out;
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length < 0x100) return [0x81, length];
  return [0x82, length >> 8, length & 0xff];
}

/** Unsigned big-endian magnitude → minimal DER INTEGER TLV. */
function derInteger(magnitude: Uint8Array): number[] {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = Array.from(magnitude.subarray(start));
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0x00);
  return [INTEGER, ...derLength(bytes.length), ...bytes];
}

/**
 * JOSE `R‖S` → DER `SEQUENCE { r, s }` (what node's default `dsaEncoding: 'der'` verifies).
 * @throws SignatureEncodingError when the input is not exactly 2 × `size` bytes or R or S is zero.
 */
export function joseToDer(jose: Uint8Array, size: number): Uint8Array {
  if (jose.length !== 2 * size) {
    throw new SignatureEncodingError(`JOSE signature must be ${2 * size} bytes, got ${jose.length}`);
  }
  const r = jose.subarray(0, size);
  const s = jose.subarray(size);
  if (r.every((b) => b === 0) || s.every((b) => b === 0)) {
    throw new SignatureEncodingError('JOSE signature has a zero component');
  }
  const body = [...derInteger(r), ...derInteger(s)];
  return Uint8Array.from([SEQUENCE, ...derLength(body.length), ...body]);
}
