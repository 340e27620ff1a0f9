/**
 * `jwks <command> [flags]`: parse, pick the stack, run, report. Exit codes (output.ts): 0 success,
 * 1 the command ran and failed, 2 the command line was wrong. Flags are parsed strictly (node:util
 * parseArgs), so a mistyped flag is an error, never silently ignored.
 */
import { parseArgs } from 'node:util';
import { COMMON_HELP, COMMON_OPTIONS, type Command, stringFlag } from './command.ts';
import { auditCommand } from './commands/audit.ts';
import { publishCommand } from './commands/publish.ts';
import { revokeCommand } from './commands/revoke.ts';
import { rotateCommand } from './commands/rotate.ts';
import { signCommand } from './commands/sign.ts';
import { statusCommand } from './commands/status.ts';
import { verifyCommand } from './commands/verify.ts';
import { type CliContext, type ContextLoader, resolveTarget, type Target } from './context.ts';
import { createOutput, EXIT, reportError, type TextSink, UsageError } from './output.ts';

export const COMMANDS: readonly Command[] = [
  statusCommand,
  rotateCommand,
  revokeCommand,
  publishCommand,
  signCommand,
  verifyCommand,
  auditCommand,
];

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** How a target becomes a context (tests inject in-memory fakes). */
  readonly loadContext: ContextLoader;
}

/** The real stacks. Imported lazily: `--help` and usage errors never load the AWS SDK. */
export const defaultLoader =
  (env: Readonly<Record<string, string | undefined>>): ContextLoader =>
  async (target: Target) => {
    if (target.kind === 'local') return (await import('./local-context.ts')).localContext(target.dataDir);
    return (await import('./deployed-context.ts')).deployedContext(target.stackName, env);
  };

const usageLine = (c: Command): string =>
  [`jwks ${c.name}`, ...c.positionals.map((p) => `<${p}>`), '[flags]'].join(' ');

export function helpText(command?: Command): string {
  if (command) {
    const flags = [...command.help, ...COMMON_HELP].map((l) => `  ${l}`);
    return [`usage: ${usageLine(command)}`, '', command.summary, '', 'flags:', ...flags].join('\n');
  }
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: jwks <command> [flags]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'flags of every command:',
    ...COMMON_HELP.map((l) => `  ${l}`),
    '',
    'exit codes: 0 success, 1 failure, 2 usage error. `jwks <command> --help` for its flags.',
  ].join('\n');
}

function parse(command: Command, args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown flags and missing values.
    const message = (err as Error).message.split(/\n|\. To specify/)[0];
    throw new UsageError(`${message} (see jwks ${command.name} --help)`);
  }
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  const [name, ...rest] = argv;
  let ctx: CliContext | undefined;
  try {
    if (name === undefined) {
      io.stderr.write(`${helpText()}\n`);
      return EXIT.USAGE;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(`${helpText(COMMANDS.find((c) => c.name === rest[0]))}\n`);
      return EXIT.OK;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (see jwks --help)`);
    const { values, positionals } = parse(command, rest);
    json = values.json === true;
    if (values.help === true) {
      io.stdout.write(`${helpText(command)}\n`);
      return EXIT.OK;
    }
    if (positionals.length !== command.positionals.length) {
      throw new UsageError(`usage: ${usageLine(command)} (got ${positionals.length} arguments)`);
    }
    const stack = stringFlag(values, 'stack');
    const dataDir = stringFlag(values, 'data-dir');
    if (stack !== undefined && dataDir !== undefined) {
      throw new UsageError('--stack and --data-dir name different stacks: give one of them');
    }
    if (stack !== undefined && stack.trim() === '') throw new UsageError('--stack needs a stack name');
    const target = resolveTarget({ stack, 'data-dir': dataDir }, io.env, io.cwd);
    const out = createOutput(json, io.stdout, io.stderr);
    return await command.run({
      values,
      positionals,
      out,
      context: async () => {
        ctx ??= await io.loadContext(target);
        return ctx;
      },
    });
  } catch (err) {
    return reportError(err, json, io.stdout, io.stderr);
  } finally {
    ctx?.close();
  }
}
