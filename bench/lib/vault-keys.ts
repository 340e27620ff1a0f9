/**
 * The local vault's keys as PRIVATE JWKs, for a baseline server (oidc-provider) that must serve a JWKS
 * of the very keys our stack serves and insists on being given private keys.
 *
 * The key files are the local vault's format (src/adapters/local/key-vault.ts: JSON with the PKCS#8
 * PEM in `privateKeyPem`, mode 0600). The JWKs returned here stay inside the benchmark: they are handed
 * to the baseline server over a pipe, never printed, logged or written anywhere.
 */
import { createPrivateKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlgorithm } from '../../src/core/algorithms.ts';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import type { Algorithm, PublicJwk } from '../../src/core/types.ts';

/** A private JWK (RFC 7517 §4 + RFC 7518 §6 private members) with the kid, alg and use we publish. */
export type PrivateJwk = Record<string, unknown> & { readonly kid: string; readonly alg: Algorithm };

interface KeyFile {
  readonly alg?: unknown;
  readonly privateKeyPem?: unknown;
}

/**
 * The private JWKs of the vault keys in `keysDir` whose kid (RFC 7638 thumbprint of the public half,
 * computed as the vault computes it) is one of `kids`. Throws unless every kid was found.
 */
export async function privateJwksFor(keysDir: string, kids: readonly string[]): Promise<PrivateJwk[]> {
  const wanted = new Set(kids);
  const found = new Map<string, PrivateJwk>();
  for (const name of (await readdir(keysDir)).filter((n) => n.endsWith('.json'))) {
    const file = JSON.parse(await readFile(join(keysDir, name), 'utf8')) as KeyFile;
    if (!isAlgorithm(file.alg) || typeof file.privateKeyPem !== 'string') continue;
    const key = createPrivateKey(file.privateKeyPem);
    const pub: PublicJwk = await publicJwkFromKey(key, file.alg);
    if (!wanted.has(pub.kid)) continue;
    found.set(pub.kid, { ...key.export({ format: 'jwk' }), kid: pub.kid, alg: pub.alg, use: 'sig' });
  }
  const missing = kids.filter((kid) => !found.has(kid));
  if (missing.length) throw new Error(`no vault key file for kid(s) ${missing.join(', ')} in ${keysDir}`);
  return kids.map((kid) => found.get(kid) as PrivateJwk);
}
