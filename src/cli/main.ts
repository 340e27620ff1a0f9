/**
 * `jwks <command> [flags]`: parse, pick the stack, run, report. Exit codes (output.ts): 0 success,
 * 1 the command ran and failed, 2 the command line was wrong. Flags are parsed strictly (node:util
 * parseArgs, after args.ts has told values that begin with `-` from flags), so a mistyped flag is an
 * error, never silently ignored, and a kid that begins with `-` is still a kid.
 */
import { parseArgs } from 'node:util';
import { normalizeArgs } from './args.ts';
import { COMMON_HELP, COMMON_OPTIONS, type Command, stringFlag } from './command.ts';
import { auditCommand } from './commands/audit.ts';
import { CLIENTS_COMMANDS } from './commands/clients.ts';
import { probeCommand } from './commands/probe.ts';
import { promoteRegionCommand } from './commands/promote-region.ts';
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
  promoteRegionCommand,
  signCommand,
  verifyCommand,
  auditCommand,
  probeCommand,
  ...CLIENTS_COMMANDS,
];

/**
 * The command `argv` names and the arguments after its name. A command may be named by two words
 * (`clients create`): the first word alone then names the group, which is a usage error by itself.
 */
export function findCommand(argv: readonly string[]): { command: Command; args: string[] } | undefined {
  const [first, second, ...rest] = argv;
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { command: one, args: argv.slice(1) };
  const two = COMMANDS.find((c) => c.name === `${first} ${second}`);
  return two ? { command: two, args: rest } : undefined;
}

/** `jwks clients` without a subcommand: which ones there are. */
function groupUsage(group: string | undefined): string | undefined {
  const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) =>
    c.name.slice(`${group} `.length),
  );
  return subs.length > 0 ? `usage: jwks ${group} <${subs.join('|')}> (see jwks --help)` : undefined;
}

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
    if (target.kind === 'local')
      return (await import('./local-context.ts')).openLocalContext(target.dataDir, env);
    return (await import('./deployed-context.ts')).deployedContext(target.stackName, env);
  };

const usageLine = (c: Command): string =>
  [`jwks ${c.name}`, ...c.positionals.map((p) => `<${p}>`), '[flags]'].join(' ');

/** The same with `--`, which always works for a value that begins with `-`: `jwks revoke [flags] -- <kid>`. */
const dashDashLine = (c: Command): string =>
  [`jwks ${c.name}`, '[flags]', '--', ...c.positionals.map((p) => `<${p}>`)].join(' ');

const VALUES_HELP = [
  'a kid is taken as is, also when it begins with "-" (as `jwks status` prints it);',
  'any other value that begins with "-": after --, or --flag=<value>',
];

export function helpText(command?: Command): string {
  if (command) {
    const flags = [...command.help, ...COMMON_HELP].map((l) => `  ${l}`);
    const takesValues = command.positionals.length > 0;
    return [
      `usage: ${usageLine(command)}`,
      ...(takesValues ? [`       ${dashDashLine(command)}`] : []),
      '',
      command.summary,
      '',
      'flags:',
      ...flags,
      ...(takesValues ? ['', ...VALUES_HELP] : []),
    ].join('\n');
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
    ...VALUES_HELP,
    '',
    'exit codes: 0 success, 1 failure, 2 usage error. `jwks <command> --help` for its flags.',
  ].join('\n');
}

export function parse(command: Command, args: readonly string[]) {
  const options = { ...COMMON_OPTIONS, ...command.options };
  const normalized = normalizeArgs(args, options, command.name);
  try {
    return parseArgs({
      args: normalized,
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // Unknown flags and missing values are caught by normalizeArgs; parseArgs still throws (TypeErrors
    // with ERR_PARSE_ARGS_* codes) for a value given to a boolean flag (`--json=yes`).
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
      io.stdout.write(`${helpText(findCommand(rest)?.command)}\n`);
      return EXIT.OK;
    }
    const found = findCommand(argv);
    if (!found) {
      const group = groupUsage(name);
      if (group && (rest[0] === '--help' || rest[0] === '-h')) {
        io.stdout.write(`${group}\n`);
        return EXIT.OK;
      }
      throw new UsageError(group ?? `unknown command ${JSON.stringify(name)} (see jwks --help)`);
    }
    const { command, args } = found;
    const { values, positionals } = parse(command, args);
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
