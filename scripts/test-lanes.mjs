#!/usr/bin/env node
/**
 * `npm test`: the lanes one after another (type check, lint, fast suites, end-to-end suites one file at
 * a time), stopping at the first that fails, then the wall time of each lane run, so a lane that grows
 * slow shows itself in every run (CI's log included).
 */
import { spawnSync } from 'node:child_process';

const LANES = [
  ['typecheck', 'typecheck'],
  ['lint', 'lint'],
  ['fast', 'test:fast'],
  ['e2e', 'test:e2e'],
];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const times = [];
let status = 0;
for (const [name, script] of LANES) {
  const started = process.hrtime.bigint();
  const run = spawnSync(npm, ['run', '--silent', script], { stdio: 'inherit' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const code = run.status ?? 1;
  times.push({ name, seconds, code });
  if (code !== 0) {
    status = code;
    break;
  }
}
const total = times.reduce((sum, t) => sum + t.seconds, 0);
console.log('\nlane wall times:');
for (const t of times) {
  console.log(
    `  ${t.name.padEnd(10)} ${t.seconds.toFixed(1).padStart(7)} s${t.code === 0 ? '' : `  (failed, exit ${t.code})`}`,
  );
}
console.log(`  ${'total'.padEnd(10)} ${total.toFixed(1).padStart(7)} s`);
process.exit(status);
