import { beforeEach, describe, expect, it } from 'vitest';
import { ENV } from '../../src/constants.ts';
import { ConfigError } from '../../src/errors.ts';
import { Signer } from '../../src/signer.ts';
import {
  assertionAudiences,
  audienceRuleFromEnv,
  regionalAudienceRule,
} from '../../src/token/assertion-audience.ts';
import { createTokenEndpoint, type TokenEndpoint } from '../../src/token/endpoint.ts';
import { assertion, assertionForm, createHarness, type Harness, ISSUER, post, TOKEN_URL } from './harness.ts';
import { MemoryClientStore } from './memory-client-store.ts';

const HOME = 'us-east-1';
const OTHER = 'eu-west-1';
const REGIONS = [HOME, OTHER];
const URL_A = 'https://a1b2c3.execute-api.us-east-1.amazonaws.com/prod/oauth2/token';
const URL_B = 'https://d4e5f6.execute-api.eu-west-1.amazonaws.com/prod/oauth2/token';

describe('assertionAudiences', () => {
  it('accepts the issuer and its token endpoint when the endpoint is the issuer’s (one region, as before)', () => {
    expect(assertionAudiences(ISSUER, { tokenEndpointUrl: TOKEN_URL, issuerAudience: true })).toEqual([
      ISSUER,
      TOKEN_URL,
    ]);
  });

  it('accepts only the regional URL when the issuer audience belongs to another region', () => {
    expect(assertionAudiences(ISSUER, { tokenEndpointUrl: URL_B, issuerAudience: false })).toEqual([URL_B]);
  });

  it('accepts the issuer, its token endpoint and the regional URL in the home region', () => {
    expect(assertionAudiences(ISSUER, { tokenEndpointUrl: URL_A, issuerAudience: true })).toEqual([
      ISSUER,
      TOKEN_URL,
      URL_A,
    ]);
  });
});

describe('regionalAudienceRule', () => {
  it('leaves the single-region default when there is one region', () => {
    expect(regionalAudienceRule(undefined, undefined)).toBeUndefined();
  });

  it('gives the issuer audience to the home region (the first of REGIONS) only', () => {
    expect(regionalAudienceRule({ region: HOME, regions: REGIONS }, URL_A)).toEqual({
      tokenEndpointUrl: URL_A,
      issuerAudience: true,
    });
    expect(regionalAudienceRule({ region: OTHER, regions: REGIONS }, URL_B)).toEqual({
      tokenEndpointUrl: URL_B,
      issuerAudience: false,
    });
  });

  it.each([
    ['missing', undefined],
    ['not a URL', 'token endpoint'],
  ])('refuses a regional URL that is %s with INVALID_CONFIG', (_name, url) => {
    expect(() => regionalAudienceRule({ region: OTHER, regions: REGIONS }, url)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: ENV.TOKEN_ENDPOINT_URL }),
    );
  });
});

describe('audienceRuleFromEnv', () => {
  it('needs no TOKEN_ENDPOINT_URL in one region', () => {
    expect(audienceRuleFromEnv({}, undefined)).toBeUndefined();
  });

  it('fails the cold start naming TOKEN_ENDPOINT_URL when several regions lack it', () => {
    let thrown: unknown;
    try {
      audienceRuleFromEnv({}, { region: OTHER, regions: REGIONS });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toMatchObject({ code: 'MISSING_CONFIG', variable: ENV.TOKEN_ENDPOINT_URL });
  });

  it('reads the regional URL when several regions have it', () => {
    expect(
      audienceRuleFromEnv({ [ENV.TOKEN_ENDPOINT_URL]: URL_B }, { region: OTHER, regions: REGIONS }),
    ).toEqual({ tokenEndpointUrl: URL_B, issuerAudience: false });
  });
});

/**
 * Two regions' endpoints, each with its own replica's `jti` items (a global table's condition holds in
 * one replica only) and the same replicated client records.
 */
describe('createTokenEndpoint: one client assertion, two regions', () => {
  let h: Harness;
  let regionA: TokenEndpoint;
  let regionB: TokenEndpoint;

  function endpointFor(region: string, tokenEndpointUrl: string): TokenEndpoint {
    // Client records replicate (read from the harness's store); the jti items are this replica's own.
    const clients = new (class extends MemoryClientStore {
      override get(id: string) {
        return h.store.get(id);
      }
    })({ clock: () => h.now });
    const rule = regionalAudienceRule({ region, regions: REGIONS }, tokenEndpointUrl);
    return createTokenEndpoint({
      clients,
      signer: new Signer({ registry: h.registry, vault: h.vault, cacheTtlMs: 0, clock: () => h.now }),
      policy: h.policy,
      issuer: ISSUER,
      ...rule,
      clock: () => h.now,
    });
  }

  beforeEach(async () => {
    h = await createHarness({ alg: 'ES256' });
    regionA = endpointFor(HOME, URL_A);
    regionB = endpointFor(OTHER, URL_B);
  });

  const send = async (endpoint: TokenEndpoint, token: string) => {
    const res = await endpoint.handle(post(assertionForm(token)));
    return { status: res.status, error: (JSON.parse(res.body) as { error?: string }).error };
  };

  it('accepts an assertion for region A once in A and refuses it in B when aud is A’s token endpoint', async () => {
    const token = await assertion(h, 'jwt-a', { aud: URL_A });
    expect(await send(regionA, token)).toEqual({ status: 200, error: undefined });
    expect(await send(regionA, token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(regionB, token)).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('refuses an assertion for region A in B even before A has seen it', async () => {
    const token = await assertion(h, 'jwt-a', { aud: URL_A });
    expect(await send(regionB, token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(regionA, token)).toEqual({ status: 200, error: undefined });
  });

  it.each([
    ['the issuer', ISSUER],
    ['the issuer’s token endpoint', TOKEN_URL],
  ])('accepts an assertion aimed at %s in the home region only', async (_name, aud) => {
    const token = await assertion(h, 'jwt-a', { aud });
    expect(await send(regionB, token)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await send(regionA, token)).toEqual({ status: 200, error: undefined });
    expect(await send(regionA, token)).toEqual({ status: 401, error: 'invalid_client' });
  });
});
