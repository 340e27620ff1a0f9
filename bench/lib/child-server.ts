/**
 * Runs a benchmark server script in its own node process (`node --import tsx <script>`, as `npm start`
 * runs the stack), hands it its input over stdin (a pipe: secrets never reach argv, the environment or
 * a file), waits for its one line `listening <base-url>`, and stops it (SIGTERM, SIGKILL after 5 s).
 * The scripts bind 127.0.0.1 on a free port and exit when their parent is gone.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildServer {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startChildServer(
  script: string,
  input: string,
  timeoutMs = 30_000,
): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-10_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  child.stdin.end(input);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${stderr}`)), timeoutMs);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /^listening (\S+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${child.exitCode}:\n${stderr}`));
      });
    });
    return {
      url,
      pid: child.pid,
      async stop() {
        if (!running()) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => running() && child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (err) {
    if (running()) child.kill('SIGKILL');
    throw err;
  }
}

/** For the child scripts: stop on SIGTERM/SIGINT, and when the parent process is gone. */
export function exitWithParent(stop: () => void): void {
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
}
