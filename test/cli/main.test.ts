import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATA_DIR_ENV } from '../../src/cli/context.ts';
import { defaultLoader } from '../../src/cli/main.ts';
import { writeStackInfo } from '../../src/local/data-dir.ts';
import { stackInfoFor } from '../support/fixtures.ts';
import { json, memoryStack, run } from './harness.ts';

const errorCode = (r: Parameters<typeof json>[0]) => json<{ error: { code: string } }>(r).error.code;

describe('jwks command line', () => {
  it('exits 2 with INVALID_ARGUMENT on an unknown command', async () => {
    const r = await run(['frobnicate', '--json']);
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
  });

  it('exits 2 on an unknown flag without contacting the stack', async () => {
    const stack = memoryStack();
    const r = await run(['status', '--verbose'], stack);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--verbose');
    expect(stack.loads).toEqual([]);
  });

  it('exits 2 when a string flag has no value', async () => {
    expect((await run(['sign', '--claims'], memoryStack())).code).toBe(2);
  });

  it('exits 2 when both --stack and --data-dir are given', async () => {
    expect((await run(['status', '--stack', 'prod', '--data-dir', 'x'], memoryStack())).code).toBe(2);
  });

  it('exits 2 and prints the usage on stderr when no command is given', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('usage: jwks');
  });

  it('prints help and exits 0 on --help, for the tool and for a command', async () => {
    const all = await run(['--help']);
    expect(all.code).toBe(0);
    for (const name of ['status', 'rotate', 'revoke', 'publish', 'sign', 'verify'])
      expect(all.stdout).toContain(name);
    const sign = await run(['sign', '--help']);
    expect(sign.code).toBe(0);
    expect(sign.stdout).toContain('--ttl');
  });
});

describe('jwks target selection', () => {
  it('talks to the deployed stack named by --stack', async () => {
    const stack = memoryStack();
    await run(['status', '--stack', 'jwks-prod'], stack);
    expect(stack.loads).toEqual([{ kind: 'deployed', stackName: 'jwks-prod' }]);
  });

  it('resolves --data-dir against the working directory', async () => {
    const stack = memoryStack();
    await run(['status', '--data-dir', 'data'], stack, { cwd: '/srv/app' });
    expect(stack.loads).toEqual([{ kind: 'local', dataDir: '/srv/app/data' }]);
  });

  it(`falls back to $${DATA_DIR_ENV}, then ./.jwks-data`, async () => {
    const stack = memoryStack();
    await run(['status'], stack, { cwd: '/srv/app', env: { [DATA_DIR_ENV]: '/var/jwks' } });
    await run(['status'], stack, { cwd: '/srv/app', env: {} });
    expect(stack.loads).toEqual([
      { kind: 'local', dataDir: '/var/jwks' },
      { kind: 'local', dataDir: '/srv/app/.jwks-data' },
    ]);
  });
});

describe('jwks without a running local stack', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const realRun = (argv: string[]) => run(argv, undefined, { loadContext: defaultLoader({}) });

  it('exits 1 with MISSING_CONFIG and says how to start it when the data dir has no stack.json', async () => {
    dir = mkdtempSync(join(tmpdir(), 'jwks-cli-'));
    const r = await realRun(['status', '--json', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('MISSING_CONFIG');
    expect(r.stderr).toContain('npm start');
  });

  it('exits 1 with MISSING_CONFIG when stack.json names a process that is gone', async () => {
    dir = mkdtempSync(join(tmpdir(), 'jwks-cli-'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    writeStackInfo(dir, stackInfoFor(dir, dead));
    const r = await realRun(['sign', '--json', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('MISSING_CONFIG');
  });
});
