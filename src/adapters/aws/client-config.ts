/**
 * What every AWS SDK client shares (region, retry mode) and the S3 endpoint override, without importing
 * any client: clients.ts builds the clients from it, and the CLI's local context its own three.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_REGION = 'us-east-1';

/** The region from `AWS_REGION` (set by Lambda), then `AWS_DEFAULT_REGION` (CLI habit), else us-east-1. */
export function regionFromEnv(env: Env = process.env): string {
  return env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || DEFAULT_REGION;
}

/** What every client shares: an explicit region, and the standard retry mode (exponential backoff + jitter). */
export interface BaseClientConfig {
  readonly region: string;
  readonly retryMode: 'standard';
}

export function baseClientConfig(env: Env = process.env): BaseClientConfig {
  return { region: regionFromEnv(env), retryMode: 'standard' };
}

/** The S3 endpoint the SDK will use instead of AWS, when one is configured (same precedence as the SDK). */
export function customS3Endpoint(env: Env = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
}
