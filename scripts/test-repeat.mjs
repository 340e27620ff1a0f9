#!/usr/bin/env node
/**
 * `npm run test:repeat -- <file> [n]`: run one test file n times in a row (default 5), each in a fresh
 * vitest process, and print passed/failed per run and in all. The proof a timing-sensitive suite is
 * green every time rather than green once. Exits non-zero when any run failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const [file, count = '5'] = process.argv.slice(2);
const n = Number(count);
if (!file || !existsSync(file) || !Number.isInteger(n) || n < 1) {
  console.error('usage: npm run test:repeat -- <test file> [runs ≥ 1]');
  if (file && !existsSync(file)) console.error(`no such file: ${file}`);
  process.exit(2);
}
const results = [];
for (let i = 1; i <= n; i++) {
  const started = Date.now();
  const run = spawnSync('npx', ['vitest', 'run', file, '--no-file-parallelism'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '' },
    encoding: 'utf8',
  });
  const ok = run.status === 0;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push(ok);
  console.log(`run ${i}/${n}: ${ok ? 'passed' : 'failed'} (${seconds} s)`);
  if (!ok) process.stdout.write(`${run.stdout}\n${run.stderr}\n`);
}
const passed = results.filter(Boolean).length;
console.log(`${file}: ${passed} passed, ${n - passed} failed`);
process.exit(passed === n ? 0 : 1);
