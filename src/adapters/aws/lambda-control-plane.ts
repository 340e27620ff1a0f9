/**
 * A deployed stack's control plane (`jwks rotate|revoke|publish --stack`): one synchronous Lambda
 * Invoke of the function that owns the action — the rotate function for rotate and revoke, the
 * publish function for publish — with the operator's identity in the request. The function decides
 * with its clock and answers an OperatorResponse; the operator needs `lambda:InvokeFunction` on those
 * two functions, not KMS or table writes (docs/deploy.md, "Operator permissions").
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import type { ControlPlane } from '../../cli/context.ts';
import { type ErrorCode, JwksError } from '../../errors.ts';
import type {
  OperatorAction,
  OperatorIdentity,
  OperatorOutcome,
  OperatorRequest,
  OperatorResponse,
} from '../../operator/action.ts';
import { baseClientConfig, type Env } from './client-config.ts';

/** Built here, not by the caller: the CLI loads this module only for the commands that invoke. */
export const createLambdaClient = (env: Env): LambdaClient => new LambdaClient(baseClientConfig(env));

export interface LambdaControlPlaneOptions {
  readonly lambda: LambdaClient;
  /** Function names (stack outputs RotateFunctionName, PublishFunctionName). */
  readonly functions: { readonly rotate: string; readonly publish: string };
  /** Who is asking (STS GetCallerIdentity). */
  readonly operator: () => Promise<OperatorIdentity>;
}

const decode = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes ?? new Uint8Array());

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JwksError('UPSTREAM', `${what} did not answer JSON`, { cause: err });
  }
}

const isOutcome = (o: unknown): o is OperatorOutcome => {
  const v = o as Partial<OperatorOutcome> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.result === 'object' &&
    typeof v.text === 'string' &&
    Array.isArray(v.warnings)
  );
};

export class LambdaControlPlane implements ControlPlane {
  readonly #opts: LambdaControlPlaneOptions;

  constructor(opts: LambdaControlPlaneOptions) {
    this.#opts = opts;
  }

  async act(request: OperatorRequest): Promise<OperatorOutcome> {
    const fn = request.action === 'publish' ? this.#opts.functions.publish : this.#opts.functions.rotate;
    const action: OperatorAction = { ...request, operator: await this.#opts.operator() };
    let out: InvokeCommandOutput;
    try {
      out = await this.#opts.lambda.send(
        new InvokeCommand({
          FunctionName: fn,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(action)),
        }),
      );
    } catch (err) {
      const e = err as Error;
      throw new JwksError('UPSTREAM', `cannot invoke function ${fn}: ${e.name}: ${e.message}`, {
        cause: err,
      });
    }
    const text = decode(out.Payload);
    if (out.FunctionError) {
      // Lambda's error document: {errorType, errorMessage, stackTrace}; the trace stays in the logs.
      let detail = text.slice(0, 500);
      try {
        const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
        detail = `${e.errorType ?? 'Error'}: ${e.errorMessage ?? ''}`;
      } catch {
        // not JSON: the raw start of the payload
      }
      throw new JwksError(
        'UPSTREAM',
        `function ${fn} failed (${out.FunctionError}) running ${request.action}: ${detail} (see its logs)`,
      );
    }
    const response = parseJson(text, `function ${fn}`) as Partial<OperatorResponse> & Record<string, unknown>;
    if (response?.ok === false && typeof response.error === 'object' && response.error !== null) {
      const { code, message } = response.error as { code?: unknown; message?: unknown };
      throw new JwksError(
        (typeof code === 'string' ? code : 'UPSTREAM') as ErrorCode,
        `function ${fn} refused ${request.action}: ${String(message)}`,
      );
    }
    if (response?.ok !== true || !isOutcome(response.outcome)) {
      throw new JwksError(
        'UPSTREAM',
        `function ${fn} did not answer an operator action (is it deployed from this version?)`,
      );
    }
    return response.outcome;
  }
}
