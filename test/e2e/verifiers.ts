/**
 * Real verifiers that nobody here wrote — jose's remote JWK set and jwks-rsa + jsonwebtoken — each
 * configured to cache the JWKS for the max-age the edge advertises, plus a JWKS poller that records
 * when each kid was first and last served.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';

export interface Verifier {
  readonly name: string;
  /**
   * Verify as of `at` (ms since the epoch; default: now). A harness that judged a token "still valid"
   * at some instant passes that instant, so the verifier's clock is the one the judgement used and a
   * slow verification round (a JWKS refetch on a loaded machine) cannot turn into "jwt expired".
   */
  verify(token: string, at?: number): Promise<void>;
}

export function joseVerifier(jwksUrl: string, maxAgeMs: number): Verifier {
  // cooldownDuration: how soon an unknown kid may trigger a refetch; at most the advertised max-age.
  const keys = createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: maxAgeMs, cooldownDuration: maxAgeMs });
  return {
    name: 'jose createRemoteJWKSet',
    async verify(token, at) {
      await jwtVerify(token, keys, {
        algorithms: ['RS256', 'PS256', 'ES256', 'ES384'],
        ...(at !== undefined && { currentDate: new Date(at) }),
      });
    },
  };
}

export function jwksRsaVerifier(jwksUrl: string, maxAgeMs: number): Verifier {
  const client = jwksRsa({ jwksUri: jwksUrl, cache: true, cacheMaxAge: maxAgeMs, rateLimit: false });
  return {
    name: 'jwks-rsa + jsonwebtoken',
    async verify(token, at) {
      const { kid } = decodeProtectedHeader(token);
      const key = await client.getSigningKey(kid);
      jwt.verify(token, key.getPublicKey(), {
        algorithms: ['RS256', 'PS256', 'ES256', 'ES384'],
        ...(at !== undefined && { clockTimestamp: Math.floor(at / 1000) }),
      });
    },
  };
}

export interface KidSighting {
  firstSeen: number;
  lastSeen: number;
}

/** Polls the served JWKS every `intervalMs` (as a verifier sees it: through the edge's cache). */
export class JwksPoller {
  readonly sightings = new Map<string, KidSighting>();
  readonly #url: string;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  errors = 0;

  constructor(url: string, intervalMs: number) {
    this.#url = url;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    const tick = async () => {
      const at = Date.now();
      try {
        const body = (await (await fetch(this.#url)).json()) as { keys: Array<{ kid: string }> };
        for (const { kid } of body.keys) {
          const s = this.sightings.get(kid);
          if (s) s.lastSeen = at;
          else this.sightings.set(kid, { firstSeen: at, lastSeen: at });
        }
      } catch {
        this.errors += 1;
      }
    };
    this.#timer = setInterval(() => {
      this.#inFlight ??= tick().finally(() => {
        this.#inFlight = undefined;
      });
    }, this.#intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
  }
}
