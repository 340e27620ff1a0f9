/**
 * Which `aud` values a token endpoint accepts on a `private_key_jwt` client assertion (RFC 7523 §3:
 * "The token endpoint URL of the authorization server MAY be used as a value for an aud element").
 *
 * An assertion's `jti` is remembered with a conditional put in the registry table (ClientStore.useJti).
 * In a multi-region deployment that table is a global table: the condition holds against the replica
 * it runs in only, so a `jti` alone cannot make an assertion single-use across regions (issue 20,
 * ADR 0008). What does is the audience: every audience is accepted by exactly **one** region, so an
 * assertion can only ever be checked against one replica's `jti` items.
 *
 * - One region (no REGIONS): the issuer and `<issuer>/oauth2/token`, exactly as before.
 * - Several regions: each region accepts its own regional token endpoint URL (its API stage's
 *   execute-api URL, `TOKEN_ENDPOINT_URL`); the issuer and `<issuer>/oauth2/token` are accepted by the
 *   home region only (the first of REGIONS), because the issuer's `/oauth2/token` reaches the home
 *   region's API (CloudFront's token behaviour has no failover, ADR 0008). Any other region refuses
 *   them, also when the local edge or DNS routes such an assertion there.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
import { type Env, requireEnv } from '../config.ts';
import { ENV, PATHS } from '../constants.ts';
import type { RegionConfig } from '../core/regions.ts';
import { ConfigError } from '../errors.ts';

export interface AssertionAudienceRule {
  /** This endpoint's own URL (default `<issuer>/oauth2/token`). */
  readonly tokenEndpointUrl: string;
  /** Whether the issuer and `<issuer>/oauth2/token` are accepted here. */
  readonly issuerAudience: boolean;
}

/** The accepted `aud` values, without duplicates. */
export function assertionAudiences(issuer: string, rule: AssertionAudienceRule): string[] {
  const issuerOwn = rule.issuerAudience ? [issuer, `${issuer}${PATHS.TOKEN}`] : [];
  return [...new Set([...issuerOwn, rule.tokenEndpointUrl])];
}

/**
 * The rule of the region `regions.region` of a multi-region deployment, whose own token endpoint is
 * `tokenEndpointUrl`; undefined regions (one region) leaves the single-region default.
 */
export function regionalAudienceRule(
  regions: RegionConfig | undefined,
  tokenEndpointUrl: string | undefined,
): AssertionAudienceRule | undefined {
  if (!regions) return undefined;
  if (!tokenEndpointUrl || !URL.canParse(tokenEndpointUrl)) {
    throw new ConfigError(
      ENV.TOKEN_ENDPOINT_URL,
      `${ENV.TOKEN_ENDPOINT_URL} must be this region's token endpoint URL in a multi-region deployment`,
    );
  }
  return { tokenEndpointUrl, issuerAudience: regions.region === regions.regions[0] };
}

/** The token Lambda's rule: REGIONS/AWS_REGION and, with several regions, TOKEN_ENDPOINT_URL. */
export function audienceRuleFromEnv(
  env: Env,
  regions: RegionConfig | undefined,
): AssertionAudienceRule | undefined {
  return regionalAudienceRule(regions, regions ? requireEnv(env, ENV.TOKEN_ENDPOINT_URL) : undefined);
}
