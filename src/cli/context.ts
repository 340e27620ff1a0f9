/**
 * What every `jwks` command runs against: the same ports the handlers use, plus the few facts a command
 * needs about the stack (policy, who the operator is, where verifiers fetch the JWKS). Commands only see
 * this interface, so tests run them against the in-memory fakes and the real CLI against a local or a
 * deployed stack (local-context.ts, deployed-context.ts) with the same AWS adapters.
 */
import { resolve } from 'node:path';
import type { RegionConfig } from '../core/regions.ts';
import type { Policy } from '../core/types.ts';
import { JwksError } from '../errors.ts';
import type { OperatorOutcome, OperatorRequest } from '../operator/action.ts';
import type { Cdn, KeyVault, ObjectStore, Registry } from '../ports.ts';
import type { ClientStore } from '../token/types.ts';
import type { RegionRegistry } from './region-status.ts';

export interface CliContext {
  readonly registry: Registry;
  readonly store: ObjectStore;
  readonly cdn: Cdn;
  readonly vault: KeyVault;
  /**
   * The token endpoint's OAuth clients (`jwks clients …`), in the registry table. Optional: a context
   * that cannot reach them makes those commands fail with MISSING_CONFIG, and no other command needs it.
   */
  readonly clients?: ClientStore;
  /** The stack's validated lifecycle policy (a getter may throw ConfigError when the stack does not say). */
  readonly policy: Policy;
  /** Where verifiers fetch the JWKS (the edge, not the bucket). */
  readonly jwksUrl: string;
  /** The canonical issuer (design §2), when known: `publish` then republishes the discovery documents too. */
  readonly issuer?: string;
  /** Clients may get a jwks_uri on a loopback address: the local stack only (design §11). */
  readonly allowLoopbackJwksUri?: boolean;
  /**
   * A deployed stack's control plane: `rotate`, `revoke` and `publish` ask the function that owns the
   * action to act (its clock, its decisions) instead of running the operations here. Absent for the
   * local stack, whose clock is this machine's.
   */
  readonly controlPlane?: ControlPlane;
  /**
   * A multi-region local stack (ADR 0008): the region this CLI acts in, among all of them. Operator
   * actions run with the rotate function's regional rules (only the primary writes; `promote-region`).
   */
  readonly regions?: RegionConfig;
  /**
   * Multi-region (local or deployed): every region's replica of the registry, for `status`. Read in
   * parallel; a region that cannot be reached fails its own read only.
   */
  readonly regionRegistries?: readonly RegionRegistry[];
  /** `cli:<identity>`, recorded on every registry change this command makes. */
  changedBy(): Promise<string>;
  /** The JWKS exactly as verifiers are served it. */
  fetchJwks(): Promise<unknown>;
  readonly now: () => number;
  /** Release clients (sockets) so the process can end. */
  close(): void;
}

export interface ControlPlane {
  /** Invoke the deployed function that owns `request.action` with the operator's identity; its outcome. */
  act(request: OperatorRequest): Promise<OperatorOutcome>;
}

/** Which stack a command talks to: `--stack <name>` (deployed) or the local stack on a data dir. */
export type Target =
  | { readonly kind: 'deployed'; readonly stackName: string }
  | { readonly kind: 'local'; readonly dataDir: string };

export type ContextLoader = (target: Target) => Promise<CliContext>;

export const DATA_DIR_ENV = 'JWKS_DATA_DIR';
export const DEFAULT_DATA_DIR = './.jwks-data';

export function resolveTarget(
  flags: { readonly stack?: string; readonly 'data-dir'?: string },
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Target {
  if (flags.stack !== undefined) return { kind: 'deployed', stackName: flags.stack };
  const dir = flags['data-dir'] ?? (env[DATA_DIR_ENV]?.trim() || DEFAULT_DATA_DIR);
  return { kind: 'local', dataDir: resolve(cwd, dir) };
}

/** How long `verify` waits for the JWKS before giving up. */
const FETCH_TIMEOUT_MS = 10_000;

/** GET the JWKS as a verifier would. Any failure is UPSTREAM: the token was not judged. */
export async function fetchJwksFrom(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    throw new JwksError('UPSTREAM', `cannot fetch the JWKS from ${url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!res.ok) throw new JwksError('UPSTREAM', `GET ${url} answered ${res.status}`);
  try {
    return await res.json();
  } catch (err) {
    throw new JwksError('UPSTREAM', `${url} did not return JSON`, { cause: err });
  }
}
