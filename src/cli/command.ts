/**
 * The shape of one `jwks` command: its flags (node:util parseArgs, strict), its positionals, and a
 * `run` that gets parsed input, an Output and a lazily loaded context (so a usage error exits 2 before
 * any stack is contacted).
 */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './context.ts';
import { type Output, UsageError } from './output.ts';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface CommandInput {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly out: Output;
  readonly context: () => Promise<CliContext>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Flags beyond the common ones (--json, --data-dir, --stack, --help). */
  readonly options: OptionsConfig;
  /** Names of the required positionals, in order (exactly these many are accepted). */
  readonly positionals: readonly string[];
  /** One line per flag for `--help`. */
  readonly help: readonly string[];
  run(input: CommandInput): Promise<number>;
}

export const COMMON_OPTIONS: OptionsConfig = {
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const COMMON_HELP: readonly string[] = [
  '--json              one JSON document on stdout',
  "--data-dir <dir>    the local stack's data dir (default $JWKS_DATA_DIR or ./.jwks-data)",
  '--stack <name>      a deployed CloudFormation stack instead of the local stack',
];

export function stringFlag(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} takes a value`);
  return v;
}

/**
 * The JSON in the file a flag names (`--key-file`, `--jwks-file`). Never the file's content in the
 * message: it may hold a private key.
 */
export function readJsonFile(flag: string, path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why =
      err instanceof SyntaxError ? 'is not JSON' : `cannot be read (${(err as { code?: string }).code})`;
    throw new UsageError(`${flag} ${path} ${why}`);
  }
}

export const boolFlag = (values: Values, name: string): boolean => values[name] === true;

/** `iso` for a table cell. */
export const cell = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());

/** Left-aligned columns, two spaces apart (the header is the first row). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return rows
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
