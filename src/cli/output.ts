/**
 * CLI output and exit codes. `--json` prints exactly one JSON document on stdout; human output goes
 * to stdout, diagnostics to stderr. Exit 0 only on success.
 */
import { JwksError } from '../errors.ts';

export const EXIT = {
  OK: 0,
  /** The command ran and failed (verification failed, a conflict, the stack is not running). */
  FAILURE: 1,
  /** The command line was wrong. */
  USAGE: 2,
} as const;

/** A usage mistake: wrong flags or arguments. */
export class UsageError extends JwksError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** Where output goes: process.stdout/stderr, or a string collector in tests. */
export interface TextSink {
  write(chunk: string): unknown;
}

export interface Output {
  readonly json: boolean;
  /** The command's result: JSON when --json, else the human text. */
  result(value: unknown, human: string): void;
  /** A warning on stderr (also in --json mode: it never pollutes the JSON on stdout). */
  warn(message: string): void;
}

export function createOutput(
  json: boolean,
  out: TextSink = process.stdout,
  err: TextSink = process.stderr,
): Output {
  return {
    json,
    result(value, human) {
      out.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
    },
    warn(message) {
      err.write(`warning: ${message}\n`);
    },
  };
}

/** Print an error the way every command does: `error [CODE]: message` (or JSON), never a stack. */
export function reportError(
  err: unknown,
  json: boolean,
  out: TextSink = process.stdout,
  errStream: TextSink = process.stderr,
): number {
  const code = err instanceof JwksError ? err.code : 'UNEXPECTED';
  const message = err instanceof Error ? err.message : String(err);
  if (json) out.write(`${JSON.stringify({ error: { code, message } })}\n`);
  errStream.write(`error [${code}]: ${message}\n`);
  return err instanceof UsageError ? EXIT.USAGE : EXIT.FAILURE;
}

export const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();
