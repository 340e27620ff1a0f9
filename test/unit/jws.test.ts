import { generateKeyPairSync, sign } from 'node:crypto';
import { base64url, compactVerify, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { compactJws, type JwsHeader, jwsSigningInput } from '../../src/core/jws.ts';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('jwsSigningInput / compactJws', () => {
  it('produces an RS256 JWT that jose verifies when signed externally with node', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'https://issuer.test', sub: 'svc', iat: now, exp: now + 60 };
    const input = jwsSigningInput({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' }, claims);
    const token = compactJws(input, sign('sha256', input.bytes, privateKey));
    const { payload, protectedHeader } = await jwtVerify(token, publicKey, { typ: 'at+jwt' });
    expect(payload).toEqual(claims);
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' });
  });

  it('produces an ES256 JWS that jose verifies when the signature is JOSE R‖S', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const input = jwsSigningInput({ alg: 'ES256', kid: 'ec' }, { n: 1 });
    const sig = sign('sha256', input.bytes, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const { payload } = await compactVerify(compactJws(input.text, sig), publicKey);
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ n: 1 });
  });

  it('makes the signing input the first two segments of the token, as ASCII bytes', () => {
    const input = jwsSigningInput({ alg: 'ES384', kid: 'x' }, { a: 'é' });
    const token = compactJws(input, Uint8Array.of(1, 2, 3));
    const [h, p, s] = token.split('.');
    expect(`${h}.${p}`).toBe(input.text);
    expect(new TextDecoder().decode(input.bytes)).toBe(input.text);
    expect(input.bytes).toHaveLength(input.text.length);
    expect(base64url.decode(s ?? '')).toEqual(Uint8Array.of(1, 2, 3));
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(p ?? '')))).toEqual({ a: 'é' });
  });

  it('emits exactly alg, kid and typ in that order, and omits typ when not given', () => {
    const stray = { alg: 'PS256', kid: 'k', typ: 'JWT', jku: 'https://evil.test', crit: ['x'] } as JwsHeader;
    const withTyp = jwsSigningInput(stray, {}).text.split('.')[0] ?? '';
    expect(new TextDecoder().decode(base64url.decode(withTyp))).toBe('{"alg":"PS256","kid":"k","typ":"JWT"}');
    const noTyp = jwsSigningInput({ alg: 'PS256', kid: 'k' }, {});
    expect(decodeProtectedHeader(compactJws(noTyp, Uint8Array.of(1)))).toEqual({ alg: 'PS256', kid: 'k' });
  });

  it('encodes a byte payload as is', () => {
    const input = jwsSigningInput({ alg: 'RS256', kid: 'k' }, Uint8Array.of(0xff, 0x00));
    expect(base64url.decode(input.text.split('.')[1] ?? '')).toEqual(Uint8Array.of(0xff, 0x00));
  });

  it('rejects algorithms we do not sign with (none, HS256) with UNSUPPORTED_ALGORITHM', () => {
    for (const alg of ['none', 'HS256']) {
      expect(codeOf(() => jwsSigningInput({ alg, kid: 'k' } as unknown as JwsHeader, {}))).toBe(
        'UNSUPPORTED_ALGORITHM',
      );
    }
  });

  it('rejects an empty kid or typ, a non-object payload and an empty signature with INVALID_ARGUMENT', () => {
    expect(codeOf(() => jwsSigningInput({ alg: 'RS256', kid: '' }, {}))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => jwsSigningInput({ alg: 'RS256', kid: 'k', typ: '' }, {}))).toBe('INVALID_ARGUMENT');
    const arrayPayload = [1] as unknown as Record<string, unknown>;
    expect(codeOf(() => jwsSigningInput({ alg: 'RS256', kid: 'k' }, arrayPayload))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => compactJws('a.b', new Uint8Array()))).toBe('INVALID_ARGUMENT');
  });
});
