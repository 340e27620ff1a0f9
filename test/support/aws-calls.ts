/**
 * Records every AWS API call the code makes, as the IAM contract (test/iam/) needs it: an SDK
 * middleware (initialize step, so it sees the command's input before serialization) on every client
 * of the given client classes — also the ones a handler entry builds for itself at cold start — with
 * the client's region, the command's input and its output.
 *
 * A call can be answered here instead of over the network (`answer`): for services with no local
 * server (KMS through FakeKmsRegions, CloudFront, SNS, Secrets Manager, the tagging API). Everything
 * else goes on to the client's endpoint (DynamoDB Local, s3rver).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareStack } from '@smithy/types';

export interface RecordedCall {
  /** Who made it (`as` around each function's run; concurrent runs keep their own). */
  readonly caller: string;
  /** The SDK client's name without `Client`: `DynamoDB`, `KMS`, `S3`, … */
  readonly service: string;
  readonly region: string;
  /** The operation: `PutItem`, `CreateKey`, … */
  readonly operation: string;
  readonly input: Readonly<Record<string, unknown>>;
  /** The answer, when the call succeeded. */
  output?: Readonly<Record<string, unknown>>;
}

/** An answer for a call that does not go to the network; undefined lets it through. */
export type Answer = (
  call: RecordedCall,
) => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;

interface SdkClient {
  config: { region: () => Promise<string> };
  middlewareStack: MiddlewareStack<object, object>;
  send(...args: unknown[]): Promise<unknown>;
}
type ClientClass = abstract new (...args: never[]) => unknown;

const NAME = 'iamContractRecorder';

export class CallRecorder {
  readonly calls: RecordedCall[] = [];
  readonly #caller = new AsyncLocalStorage<string>();
  #answer: Answer = () => undefined;
  readonly #restore: (() => void)[] = [];

  /** Every client of these classes (existing and future) records through this recorder until `uninstall`. */
  install(classes: readonly ClientClass[], answer?: Answer): void {
    if (answer) this.#answer = answer;
    // The base prototype (smithy's Client) of each class: patched once, however many classes share it.
    const bases = new Set(classes.map((c) => Object.getPrototypeOf(c.prototype) as SdkClient));
    for (const base of bases) {
      const send = base.send;
      const recorder = this;
      base.send = function patched(this: SdkClient, ...args: unknown[]) {
        if (!this.middlewareStack.identify().some((m) => m.startsWith(NAME))) {
          this.middlewareStack.add(recorder.#middleware(this), { step: 'initialize', name: NAME });
        }
        return send.apply(this, args);
      };
      this.#restore.push(() => {
        base.send = send;
      });
    }
  }

  uninstall(): void {
    for (const restore of this.#restore.splice(0)) restore();
  }

  /** Run `fn` with every call it makes (and every call of what it starts) recorded as `caller`'s. */
  as<T>(caller: string, fn: () => Promise<T>): Promise<T> {
    return this.#caller.run(caller, fn);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware signature is generic over every command
  #middleware(client: SdkClient): any {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    return (next: any, context: { clientName?: string; commandName?: string }) => async (args: any) => {
      const call: RecordedCall = {
        caller: this.#caller.getStore() ?? 'unknown',
        service: String(context.clientName).replace(/Client$/, ''),
        region: await client.config.region(),
        operation: String(context.commandName).replace(/Command$/, ''),
        input: args.input,
      };
      this.calls.push(call);
      const answered = await this.#answer(call);
      if (answered) {
        call.output = answered;
        return { output: { $metadata: {}, ...answered }, response: {} };
      }
      const result = await next(args);
      call.output = result.output;
      return result;
    };
  }
}
