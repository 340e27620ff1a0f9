/**
 * What the probe reports: one result per check, in the order the checks ran. The canary turns the
 * results of each `path` into its metrics (CanarySuccess, CanaryLatency); the CLI prints one line each.
 */
import type { CANARY_PATHS } from '../constants.ts';

/** The four things the probe reaches, the `Path` dimension of the canary's metrics. */
export type ProbePath = (typeof CANARY_PATHS)[keyof typeof CANARY_PATHS];

export interface CheckResult {
  /** Stable name (`jwks.cache`, `token.verify`, …): scripts and tests branch on it. */
  readonly name: string;
  readonly path: ProbePath;
  readonly ok: boolean;
  /** A check that could not run for a reason that is not a failure (no credential given). */
  readonly skipped?: boolean;
  /** What was seen, or what is wrong: one line, never a secret or a token. */
  readonly detail: string;
  /** Time of the request the check judged (0 for checks of data already fetched). */
  readonly ms: number;
}

/** One HTTP answer as the pure checks see it: header names lower-cased, the body as text. */
export interface HttpSnapshot {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly ms: number;
}

/** How the probe gets a token: `client_secret_basic`, or `private_key_jwt` with a private JWK. */
export type ProbeCredential =
  | { readonly kind: 'secret'; readonly clientId: string; readonly clientSecret: string }
  | {
      readonly kind: 'key';
      readonly clientId: string;
      readonly privateJwk: Readonly<Record<string, unknown>>;
    };

export const pass = (name: string, path: ProbePath, detail: string, ms = 0): CheckResult => ({
  name,
  path,
  ok: true,
  detail,
  ms,
});

export const fail = (name: string, path: ProbePath, detail: string, ms = 0): CheckResult => ({
  name,
  path,
  ok: false,
  detail,
  ms,
});

export const skip = (name: string, path: ProbePath, detail: string): CheckResult => ({
  name,
  path,
  ok: true,
  skipped: true,
  detail,
  ms: 0,
});
