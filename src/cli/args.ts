/**
 * Command-line tokens → what node:util parseArgs (strict) reads without guessing. Kids are RFC 7638
 * thumbprints in base64url, so about one in 64 begins with `-`; parseArgs alone would read
 * `jwks revoke -G8m…` as the short flags `-G -8 -m …`, and `--kid -G8m…` as a missing value.
 *
 * Rules (getopt's, plus one for kids):
 * - `--` ends the flags: everything after it is a positional, whatever it looks like;
 * - a flag that takes a value takes the next argument as it is (`--reason -x`, `--kid -G8m…`), unless
 *   that argument is itself one of the command's flags (`--reason --json` is a missing reason);
 * - an argument that begins with `-` but cannot be a flag — a 43-character base64url thumbprint or a
 *   compact JWS — is a positional;
 * - anything else that begins with `-` and is not a flag of the command is a usage error that says how
 *   to pass it as a value.
 * @see https://www.rfc-editor.org/rfc/rfc7638 (JWK thumbprint; base64url: RFC 7515 §2)
 */
import type { OptionsConfig } from './command.ts';
import { UsageError } from './output.ts';

/** A SHA-256 thumbprint in base64url without padding: 32 bytes → 43 characters. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
/** A compact JWS (header.payload.signature): flags never contain a dot. */
const COMPACT_JWS = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** What a mistyped long flag looks like (every flag of this CLI has this shape). */
const FLAG_SHAPE = /^--[a-z][a-z0-9-]*(?:=|$)/;

/** Whether `arg` is a value even though it begins with `-`: no flag of any command has this shape. */
export const cannotBeFlag = (arg: string): boolean => THUMBPRINT.test(arg) || COMPACT_JWS.test(arg);

interface Spec {
  readonly name: string;
  readonly takesValue: boolean;
}

function lookup(options: OptionsConfig, arg: string): Spec | undefined {
  if (!arg.startsWith('-')) return undefined;
  if (arg.startsWith('--')) {
    const name = arg.slice(2).split('=')[0] as string;
    const option = Object.hasOwn(options, name) ? options[name] : undefined;
    return option ? { name, takesValue: option.type === 'string' } : undefined;
  }
  if (arg.length !== 2) return undefined;
  const entry = Object.entries(options).find(([, o]) => o.short === arg[1]);
  return entry ? { name: entry[0], takesValue: entry[1].type === 'string' } : undefined;
}

/**
 * The arguments in a form parseArgs reads the same way these rules do: every flag first (a value
 * joined with `=`), then `--`, then the positionals in their order. `command` names the command in
 * messages.
 */
export function normalizeArgs(args: readonly string[], options: OptionsConfig, command: string): string[] {
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const spec = lookup(options, arg);
    if (!spec) {
      if (cannotBeFlag(arg)) {
        positionals.push(arg);
        continue;
      }
      const shown = arg.startsWith('--') ? (arg.split('=')[0] as string) : arg;
      // `--verbose` is a mistyped flag; `-G8m`, `-svc` or `--x_1` look like values: say how to pass one.
      const hint = FLAG_SHAPE.test(arg)
        ? ''
        : `; a value that begins with "-" goes after --, e.g. jwks ${command} -- ${arg}`;
      throw new UsageError(`unknown option ${shown} (see jwks ${command} --help)${hint}`);
    }
    if (!spec.takesValue || arg.includes('=')) {
      flags.push(arg.startsWith('--') ? arg : `--${spec.name}`);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value === '--' || lookup(options, value) !== undefined) {
      throw new UsageError(
        `--${spec.name} needs a value (see jwks ${command} --help); a value that looks like a flag: --${spec.name}=<value>`,
      );
    }
    flags.push(`--${spec.name}=${value}`);
    i += 1;
  }
  return [...flags, '--', ...positionals];
}
