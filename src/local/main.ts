/**
 * `npm start`: the whole system in the foreground on one machine. Prints exactly one line on stdout,
 * `ready <url>`, once the JWKS is served with an ACTIVE key in it; logs go to stderr. Exit codes:
 * 0 after a clean shutdown (SIGINT/SIGTERM), 2 for invalid configuration, 1 for any other failure.
 */
import { JwksError } from '../errors.ts';
import { loadLocalConfig } from './config.ts';
import { type EarlyStart, startEarly } from './early-start.ts';
import { createStderrLog } from './log.ts';
import { waitUntilReady } from './readiness.ts';

const log = createStderrLog(process.env.LOG_LEVEL);

function fail(err: unknown): never {
  const code = err instanceof JwksError ? err.code : 'UNEXPECTED';
  const exit = code === 'MISSING_CONFIG' || code === 'INVALID_CONFIG' ? 2 : 1;
  process.stderr.write(`jwks local stack: ${code}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(exit);
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadLocalConfig>;
  try {
    config = loadLocalConfig(process.env);
  } catch (err) {
    fail(err);
  }
  for (const warning of config.warnings) log.warn(`policy: ${warning}`);

  // The JVM first, the stack's modules (the AWS SDK, fauxqs, s3rver) while it boots.
  let early: EarlyStart;
  try {
    early = startEarly(config.dataDir);
  } catch (err) {
    fail(err);
  }
  const { startLocalStack } = await import('./stack.ts');
  const stack = await startLocalStack(config, log, process.env, early).catch(fail);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: the user insists
    stopping = true;
    log.info('shutting down', { signal });
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => fail(err),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // npm does not forward a SIGTERM sent to it alone (`kill <npm pid>`): it exits and leaves this
  // process orphaned with DynamoDB Local and s3rver running. Notice the re-parenting and stop too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown('parent exited');
  }, 500).unref();

  try {
    const regional = (stack.info.regions ?? []).map((r) => r.url);
    await waitUntilReady([stack.url, ...regional], () => stack.settledKids(), 120_000);
  } catch (err) {
    await stack.stop();
    fail(err);
  }
  process.stdout.write(`ready ${stack.url}\n`);
}

void main();
