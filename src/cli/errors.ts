/**
 * Errors only the CLI raises. Codes come from the shared ErrorCode union (src/errors.ts).
 */
import { JwksError } from '../errors.ts';

/**
 * There is no stack to talk to: no local stack is running on the data dir, or CloudFormation does not
 * know the stack, or the stack lacks an output the CLI needs. Exit 1: the command line was fine.
 * TODO(lead): a dedicated `STACK_NOT_FOUND` code in src/errors.ts; MISSING_CONFIG until then.
 */
export class StackNotFoundError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MISSING_CONFIG', message, options);
  }
}
