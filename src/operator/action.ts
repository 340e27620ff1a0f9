/**
 * An operator action (`jwks rotate|revoke|publish`) as one typed request, and what comes back. The CLI
 * runs it in-process against the local stack; with `--stack` it sends the request to the deployed
 * function that owns the action (rotate and revoke: the rotate function; publish: the publish function),
 * so decisions and timestamps come from the function's clock, not the operator's laptop (issue 9).
 *
 * The request carries no time: a `now` from the caller is refused, whatever its value.
 */
import { isRegionName } from '../core/regions.ts';
import { type ErrorCode, InvalidArgumentError, JwksError } from '../errors.ts';
import type { Log } from '../ports.ts';

/** Who asked, as STS GetCallerIdentity told the CLI; recorded as `changedBy: cli:<arn>`. */
export interface OperatorIdentity {
  readonly arn: string;
}

interface Base {
  /** Recorded with every registry change the action makes (and the revocation list entry). */
  readonly reason: string;
}

export type OperatorRequest =
  | (Base & { readonly action: 'rotate'; readonly immediate?: boolean })
  | (Base & { readonly action: 'revoke'; readonly kid: string })
  | (Base & { readonly action: 'publish'; readonly force?: boolean })
  /** Multi-region (ADR 0008): make `region` the primary; sent to that region's rotate function. */
  | (Base & {
      readonly action: 'promote-region';
      readonly region: string;
      /** Regions left out of the publication gate (lost ones). */
      readonly exclude?: readonly string[];
    });

/** What a deployed function receives. */
export type OperatorAction = OperatorRequest & { readonly operator: OperatorIdentity };

export type ActionName = OperatorRequest['action'];

/** What the CLI prints: the JSON document (`--json`), the human text, and warnings for stderr. */
export interface OperatorOutcome {
  readonly action: ActionName;
  readonly result: Readonly<Record<string, unknown>>;
  readonly text: string;
  readonly warnings: readonly string[];
}

/** A function's answer to an operator action. A refused request is an answer, not a function error. */
export type OperatorResponse =
  | { readonly ok: true; readonly outcome: OperatorOutcome }
  | { readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string } };

const FIELDS: Record<ActionName, readonly string[]> = {
  rotate: ['immediate'],
  revoke: ['kid'],
  publish: ['force'],
  'promote-region': ['region', 'exclude'],
};
const MAX_REASON = 500;
const MAX_KID = 128;
/** An IAM user or role, or an STS assumed-role session (what GetCallerIdentity returns). */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]{1,512}$/;

/** An event a handler treats as an operator action (validated by parseOperatorAction). */
export interface OperatorEvent {
  readonly action: unknown;
  readonly [field: string]: unknown;
}

/** Whether a handler's event is an operator action rather than its schedule or stream event. */
export const isOperatorEvent = (event: unknown): event is OperatorEvent =>
  typeof event === 'object' && event !== null && !Array.isArray(event) && 'action' in event;

const bad = (message: string) => new InvalidArgumentError(`operator action: ${message}`);

/** Validate an event as an action this function owns; InvalidArgumentError names the problem. */
export function parseOperatorAction(event: unknown, owned: readonly ActionName[]): OperatorAction {
  if (!isOperatorEvent(event)) throw bad('not an object with an "action"');
  const { action, reason, operator } = event;
  if (typeof action !== 'string' || !Object.hasOwn(FIELDS, action)) {
    throw bad(`unknown action ${JSON.stringify(action)} (rotate, revoke, publish or promote-region)`);
  }
  const name = action as ActionName;
  if (!owned.includes(name)) throw bad(`${name} is not this function's action (${owned.join(', ')})`);
  if ('now' in event) throw bad('"now" is not accepted: the function decides with its own clock');
  const allowed = new Set(['action', 'reason', 'operator', ...FIELDS[name]]);
  const extra = Object.keys(event).filter((k) => !allowed.has(k));
  if (extra.length > 0) throw bad(`unknown field(s) ${extra.join(', ')} for ${name}`);
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON) {
    throw bad(`"reason" must be a non-empty string of at most ${MAX_REASON} characters`);
  }
  const arn = (operator as { arn?: unknown } | null | undefined)?.arn;
  if (typeof operator !== 'object' || typeof arn !== 'string' || !PRINCIPAL_ARN.test(arn)) {
    throw bad('"operator.arn" must be the IAM or STS ARN of the caller');
  }
  const base = { reason: reason.trim(), operator: { arn } };
  const flag = (field: string): boolean | undefined => {
    const v = event[field];
    if (v === undefined || typeof v === 'boolean') return v;
    throw bad(`"${field}" must be a boolean`);
  };
  switch (name) {
    case 'rotate': {
      const immediate = flag('immediate');
      return { action: name, ...base, ...(immediate === undefined ? {} : { immediate }) };
    }
    case 'publish': {
      const force = flag('force');
      return { action: name, ...base, ...(force === undefined ? {} : { force }) };
    }
    case 'promote-region': {
      const region = event.region;
      if (!isRegionName(region)) {
        throw bad('"region" must be an AWS region name');
      }
      const exclude = event.exclude;
      if (exclude === undefined) return { action: name, ...base, region };
      if (!Array.isArray(exclude) || !exclude.every(isRegionName)) {
        throw bad('"exclude" must be a list of AWS region names');
      }
      return { action: name, ...base, region, exclude: exclude as string[] };
    }
    case 'revoke': {
      const kid = event.kid;
      if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID) {
        throw bad(`"kid" must be a non-empty string of at most ${MAX_KID} characters`);
      }
      return { action: name, ...base, kid };
    }
  }
}

/** `changedBy` of an action's registry changes: the operator, as the CLI always recorded it. */
export const changeOf = (action: OperatorAction) => ({
  changedBy: `cli:${action.operator.arn}`,
  reason: action.reason,
});

/**
 * A handler's answer to an operator event: validate it as one of the `owned` actions, `run` it, and
 * answer. A JwksError (a bad request, an unknown kid, a lost race) becomes `{ ok: false, error }` with
 * its stable code — never a stack trace; anything else is thrown, so Lambda reports a function error
 * and the function's error alarm sees it.
 */
export async function answer(
  log: Log,
  event: unknown,
  owned: readonly ActionName[],
  run: (action: OperatorAction) => Promise<OperatorOutcome>,
): Promise<OperatorResponse> {
  try {
    const action = parseOperatorAction(event, owned);
    log.info('operator action', {
      action: action.action,
      operator: action.operator.arn,
      reason: action.reason,
    });
    const outcome = await run(action);
    log.info('operator action done', { action: outcome.action, warnings: outcome.warnings });
    return { ok: true, outcome };
  } catch (err) {
    if (!(err instanceof JwksError)) throw err;
    log.warn('operator action refused', { code: err.code, message: err.message });
    return { ok: false, error: { code: err.code, message: err.message } };
  }
}
