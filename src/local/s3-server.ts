/**
 * The local stack's S3: s3rver, which speaks the real S3 wire protocol over files in a directory, so
 * the production S3 adapter runs unchanged against it (design §7). Path-style only: the S3 client turns
 * `forcePathStyle` on whenever `AWS_ENDPOINT_URL_S3` is set (src/adapters/aws/clients.ts).
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node ≥ 17) only has
 * in its legacy provider: without it every truncated listing fails with InternalError. `npm start`
 * runs the stack with `--openssl-legacy-provider` (package.json), and s3rver then runs in this process,
 * on an http.Server of ours (a child process of its own held ~60 MB more, docs/benchmarks.md). A
 * process without the provider (the test workers) runs it in a child started with the flag
 * (s3rver-process.mjs). The legacy provider only adds old algorithms; nothing here picks one by a
 * name from input.
 *
 * Known gaps, covered by mocks instead: s3rver ignores `If-Match` / `If-None-Match` on PutObject (no 412),
 * and it does not verify SigV4 signatures — but it does look up the access key id, and only accepts
 * its built-in `S3RVER` key, hence S3RVER_CREDENTIALS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { LOOPBACK_HOST } from '../core/loopback.ts';
import { JwksError } from '../errors.ts';

/** The only access key s3rver knows (the secret is not checked for SigV4 requests). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3ServerOptions {
  /** Where objects live; kept across restarts. */
  readonly dir: string;
  /** Buckets created at start (existing ones are kept, with their objects). */
  readonly buckets?: readonly string[];
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** How long to wait for the child to listen. */
  readonly startTimeoutMs?: number;
}

export interface RunningS3Server {
  /** `http://host:port`, the value for `AWS_ENDPOINT_URL_S3`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

type ChildMessage = { type: 'ready'; port: number } | { type: 'error'; code: string; message: string };

const CHILD = fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url));
const STOP_GRACE_MS = 5_000;

function waitForReady(child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new JwksError('UPSTREAM', `s3rver did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'ready') {
        cleanup();
        resolve(message.port);
      } else {
        const code = message.code === 'EADDRINUSE' ? 'ADDRESS_IN_USE' : 'UPSTREAM';
        fail(new JwksError(code, `s3rver failed to start: ${message.message}`));
      }
    };
    const onExit = (status: number | null) =>
      fail(new JwksError('UPSTREAM', `s3rver exited with ${status} before listening: ${stderr()}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    function fail(err: Error) {
      cleanup();
      child.kill('SIGKILL');
      reject(err);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Whether this process can use DES (s3rver's continuation tokens): OpenSSL's legacy provider is loaded. */
export function legacyCiphersAvailable(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

type S3rverOptions = Parameters<typeof import('./s3rver-app.mjs').createS3rver>[0];

async function startInProcess(options: S3rverOptions): Promise<RunningS3Server> {
  const { createS3rver } = await import('./s3rver-app.mjs');
  const s3rver = createS3rver(options);
  await s3rver.configureBuckets();
  const server = createServer(s3rver.callback());
  await new Promise<void>((resolve, reject) => {
    // s3rver's own run() leaves a listen error unhandled; here it fails the start.
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new JwksError(
          err.code === 'EADDRINUSE' ? 'ADDRESS_IN_USE' : 'UPSTREAM',
          `s3rver failed to start: ${err.message}`,
          {
            cause: err,
          },
        ),
      );
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${options.host}:${port}`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() alone would wait for them to idle out.
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

export async function startS3Server(opts: S3ServerOptions): Promise<RunningS3Server> {
  const host = opts.host ?? '127.0.0.1';
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const childOptions = {
    host,
    port: opts.port ?? 0,
    dir: opts.dir,
    buckets: [...(opts.buckets ?? [])],
    // s3rver answers 421 unless the Host matches (DNS rebinding, design §11).
    loopbackHost: { source: LOOPBACK_HOST.source, flags: LOOPBACK_HOST.flags },
  };
  if (legacyCiphersAvailable()) return startInProcess(childOptions);
  const child = spawn(process.execPath, ['--openssl-legacy-provider', CHILD, JSON.stringify(childOptions)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  // Keep only the tail of stderr, for the error message if the child dies during start.
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2_000);
  });
  const port = await waitForReady(child, () => stderrTail.trim(), opts.startTimeoutMs ?? 15_000);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        if (child.connected) child.send({ type: 'stop' });
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}
