/**
 * The crash drill of issue 23: a supervisor (systemd `Restart=always`, a container's restart policy)
 * restarts `npm start` right after the whole process group was SIGKILLed. The crashed stack's node
 * process can still be a zombie then, and its lock must not count. Every restart must come up ready on
 * the same data dir and port, serving the same keys.
 *
 * CRASH_DRILL_CYCLES (default 10) and CRASH_DRILL_RESTART_MS (default 100: how long the supervisor
 * waits after noticing the exit; 0 restarts at once) tune it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { cli, type StackProcess, startStack, tempDataDir } from './stack-process.ts';

const CYCLES = Number(process.env.CRASH_DRILL_CYCLES ?? 10);
const RESTART_MS = Number(process.env.CRASH_DRILL_RESTART_MS ?? 100);

/** `ps` state of a process (Linux and macOS): `Z…` for a zombie, '' once it is gone. */
function processState(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** The pid stack.json names: the stack's node process. */
function stackPid(dataDir: string): number {
  return (JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8')) as { pid: number }).pid;
}

/** The kids the stack serves, after checking every key in its JWKS parses as a public key. */
async function servedKids(stack: StackProcess): Promise<string[]> {
  const res = await fetch(`${stack.url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  const { keys } = (await res.json()) as { keys: JWK[] };
  for (const jwk of keys) {
    expect(jwk.d).toBeUndefined();
    await importJWK(jwk, jwk.alg);
  }
  return keys.map((k) => String(k.kid)).sort();
}

describe('npm start after a crash (SIGKILL of the process group)', () => {
  it(`restarts ${CYCLES} times in a row ${RESTART_MS} ms after the crash, ready with the same keys each time`, async () => {
    const dataDir = tempDataDir();
    let stack = await startStack({ dataDir });
    const port = stack.port;
    const kids = await servedKids(stack);
    expect(kids).toHaveLength(2);
    const readyMs: number[] = [];
    let restartsOverZombie = 0;
    try {
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const crashedPid = stackPid(dataDir);
        await stack.crash();
        await new Promise((r) => setTimeout(r, RESTART_MS)); // the supervisor's restart delay, not a wait
        if (processState(crashedPid).startsWith('Z')) restartsOverZombie++;
        const started = Date.now();
        stack = await startStack({ dataDir, port }).catch((err: Error) => {
          throw new Error(`restart ${cycle} of ${CYCLES} failed: ${err.message}`);
        });
        readyMs.push(Date.now() - started);
        expect(stack.stdout, `restart ${cycle}`).toEqual([`ready http://127.0.0.1:${port}`]);
        expect(await servedKids(stack), `restart ${cycle}`).toEqual(kids);
        expect(stackPid(dataDir)).not.toBe(crashedPid);
      }
      // After the last crash, the CLI finds no stack: it never talks to the dead one's endpoints.
      await stack.crash();
      const status = await cli(dataDir, ['status', '--json']);
      expect(status.code).toBe(1);
      expect(JSON.parse(status.stdout)).toMatchObject({ error: { code: 'MISSING_CONFIG' } });
    } finally {
      await stack.crash();
      rmSync(dataDir, { recursive: true, force: true });
    }
    console.info(
      `crash drill: ${readyMs.length}/${CYCLES} restarts ready, restart delay ${RESTART_MS} ms, ` +
        `${restartsOverZombie} while the crashed stack was still a zombie, ready after ` +
        `${Math.min(...readyMs)}–${Math.max(...readyMs)} ms (median ${readyMs.sort((a, b) => a - b)[readyMs.length >> 1]})`,
    );
  }, 600_000);
});
