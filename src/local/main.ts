/**
 * `npm start`: the whole system in the foreground on one machine. Prints exactly one line on stdout,
 * `ready <url>`, once the JWKS is served with an ACTIVE key in it; logs go to stderr. Exit codes:
 * 0 after a clean shutdown (SIGINT/SIGTERM), 2 for invalid configuration, 1 for any other failure
 * (and for a second Ctrl-C more than a second after the first, which exits without waiting).
 */
import { JwksError } from '../errors.ts';
import { loadLocalConfig } from './config.ts';
import { startEarly } from './early-start.ts';
import { createStderrLog } from './log.ts';
import { waitUntilReady } from './readiness.ts';

const log = createStderrLog(process.env.LOG_LEVEL);
const PARENT_EXITED = 'parent exited';
/** A second signal this long after the first forces the exit; sooner, it is the same signal again. */
const INSIST_AFTER_MS = 1_000;

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
  const early = await startEarly(config.dataDir, log).catch(fail);
  const { startLocalStack } = await import('./stack.ts');
  const stack = await startLocalStack(config, log, process.env, early).catch(fail);
  let stoppingSince: number | undefined;
  const shutdown = (reason: string) => {
    if (stoppingSince !== undefined) {
      // One Ctrl-C arrives twice (the terminal signals the whole process group, and npm forwards it),
      // and the parent watch below ticks on: neither may cut a clean shutdown short (the JVM still
      // running, the lock left behind). A signal well after the first is the user insisting.
      if (reason !== PARENT_EXITED && Date.now() - stoppingSince > INSIST_AFTER_MS) process.exit(1);
      return;
    }
    stoppingSince = Date.now();
    clearInterval(parentWatch);
    log.info('shutting down', { signal: reason });
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
  const parentWatch = setInterval(() => {
    if (process.ppid !== parent) shutdown(PARENT_EXITED);
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
