/** The `jwks` shim as a real process: tsx registers, the CLI runs, and the exit code reaches the shell. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/jwks.mjs');
const dir = mkdtempSync(join(tmpdir(), 'jwks-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jwks = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, JWKS_DATA_DIR: '' },
  });

describe('bin/jwks.mjs', () => {
  it('prints the usage and exits 0 on --help', () => {
    const p = jwks('--help');
    expect(p.status).toBe(0);
    expect(p.stdout).toContain('usage: jwks <command>');
  });

  it('exits 1 with one JSON error on stdout when no local stack runs on the data dir', () => {
    const p = jwks('status', '--json', '--data-dir', dir);
    expect(p.status).toBe(1);
    expect(JSON.parse(p.stdout)).toMatchObject({ error: { code: 'MISSING_CONFIG' } });
    expect(p.stderr).toContain(`no local stack running on ${dir}`);
  });

  it('exits 2 on an unknown flag', () => {
    const p = jwks('status', '--nope');
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/^error \[INVALID_ARGUMENT\]/);
  });
});
