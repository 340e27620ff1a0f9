import { createHash, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { derToJose, joseToDer } from '../../src/core/der-jose.ts';

const CURVES = [
  { alg: 'ES256', curve: 'prime256v1', digest: 'sha256', size: 32 },
  { alg: 'ES384', curve: 'secp384r1', digest: 'sha384', size: 48 },
] as const;

const captureCode = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

/** Build a DER signature by hand from two magnitudes (no sign byte logic: callers pass content). */
const derOf = (rContent: number[], sContent: number[]): Uint8Array => {
  const body = [0x02, rContent.length, ...rContent, 0x02, sContent.length, ...sContent];
  return Uint8Array.from([0x30, body.length, ...body]);
};

describe.each(CURVES)('derToJose / joseToDer ($alg)', ({ curve, digest, size }) => {
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  beforeAll(() => {
    ({ privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve }));
  });

  it('converts node DER signatures to the ieee-p1363 form node verifies when signing many messages', () => {
    for (let i = 0; i < 64; i++) {
      const message = createHash('sha256').update(`message ${i}`).digest();
      const der = sign(digest, message, { key: privateKey, dsaEncoding: 'der' });
      const jose = derToJose(der, size);
      expect(jose).toHaveLength(2 * size);
      expect(verify(digest, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
      expect(Buffer.from(joseToDer(jose, size))).toEqual(der);
    }
  });

  it('round-trips node ieee-p1363 signatures through DER when verifying with node', () => {
    for (let i = 0; i < 64; i++) {
      const message = Buffer.from(`payload ${i}`);
      const jose = sign(digest, message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const der = joseToDer(jose, size);
      expect(verify(digest, message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
      expect(Buffer.from(derToJose(der, size))).toEqual(jose);
    }
  });

  it('left-pads R and S when their DER integers are shorter than the field', () => {
    const der = derOf([0x01, 0x02], [0x7f]);
    const jose = derToJose(der, size);
    expect(jose[size - 2]).toBe(0x01);
    expect(jose[size - 1]).toBe(0x02);
    expect(jose[2 * size - 1]).toBe(0x7f);
    expect(jose.subarray(0, size - 2).every((b) => b === 0)).toBe(true);
    expect(jose.subarray(size, 2 * size - 1).every((b) => b === 0)).toBe(true);
    expect(joseToDer(jose, size)).toEqual(der);
  });

  it('adds a 0x00 sign byte in DER when the high bit of R or S is set', () => {
    const jose = new Uint8Array(2 * size).fill(0xff);
    const der = joseToDer(jose, size);
    // r: 02 <size+1> 00 ff..ff
    expect(der[2]).toBe(0x02);
    expect(der[3]).toBe(size + 1);
    expect(der[4]).toBe(0x00);
    expect(derToJose(der, size)).toEqual(jose);
  });

  it('strips leading zero bytes of R in JOSE when encoding minimal DER', () => {
    const jose = new Uint8Array(2 * size).fill(0x11);
    jose.fill(0, 0, 3);
    const der = joseToDer(jose, size);
    expect(der[3]).toBe(size - 3);
    expect(derToJose(der, size)).toEqual(jose);
  });

  it('round-trips any non-zero R and S (property)', () => {
    const component = fc
      .uint8Array({ minLength: size, maxLength: size })
      .filter((a) => a.some((b) => b !== 0));
    fc.assert(
      fc.property(component, component, (r, s) => {
        const jose = Uint8Array.from([...r, ...s]);
        expect(derToJose(joseToDer(jose, size), size)).toEqual(jose);
      }),
    );
  });
});

describe('derToJose rejects malformed DER', () => {
  const good = derOf([0x01], [0x02]);
  const cases: Array<[string, Uint8Array]> = [
    ['empty input', new Uint8Array()],
    ['not a SEQUENCE', Uint8Array.from([0x31, ...good.subarray(1)])],
    ['trailing bytes after the SEQUENCE', Uint8Array.from([...good, 0x00])],
    ['SEQUENCE length overruns input', Uint8Array.from([0x30, 0x10, ...good.subarray(2)])],
    ['truncated (only r)', Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01])],
    [
      'extra element inside the SEQUENCE',
      Uint8Array.from([0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x02, 0x01, 0x03]),
    ],
    ['r is not an INTEGER', derOf([0x01], [0x02]).map((b, i) => (i === 2 ? 0x04 : b))],
    ['negative r', derOf([0x80], [0x02])],
    ['non-minimal r (needless 0x00)', derOf([0x00, 0x01], [0x02])],
    ['zero s', derOf([0x01], [0x00])],
    ['empty INTEGER', derOf([], [0x02])],
    ['indefinite length', Uint8Array.from([0x30, 0x80, ...good.subarray(2), 0x00, 0x00])],
    ['non-minimal long-form length', Uint8Array.from([0x30, 0x81, good.length - 2, ...good.subarray(2)])],
    ['r longer than the field', derOf([0x01, ...new Array(32).fill(0x01)], [0x02])],
  ];
  it.each(cases)('throws INVALID_SIGNATURE_ENCODING when given %s', (_name, der) => {
    expect(captureCode(() => derToJose(der, 32))).toBe('INVALID_SIGNATURE_ENCODING');
  });

  it('accepts a minimal long-form length when content exceeds 127 bytes, then rejects the oversized r', () => {
    const big = new Array(130).fill(0x01);
    const body = [0x02, 0x81, big.length, ...big, 0x02, 0x01, 0x02];
    const der = Uint8Array.from([0x30, 0x81, body.length, ...body]);
    expect(captureCode(() => derToJose(der, 32))).toBe('INVALID_SIGNATURE_ENCODING');
    expect(derToJose(der, 130)[0]).toBe(0x01);
  });
});

describe('joseToDer rejects malformed JOSE signatures', () => {
  it('throws INVALID_SIGNATURE_ENCODING when the length is not 2 × size', () => {
    expect(captureCode(() => joseToDer(new Uint8Array(63).fill(1), 32))).toBe('INVALID_SIGNATURE_ENCODING');
  });

  it('throws INVALID_SIGNATURE_ENCODING when R is zero', () => {
    const jose = new Uint8Array(64).fill(1);
    jose.fill(0, 0, 32);
    expect(captureCode(() => joseToDer(jose, 32))).toBe('INVALID_SIGNATURE_ENCODING');
  });
});
