/**
 * A process that takes a data dir's lock as a stack does, for data-dir-lock.test.ts:
 * `node --import tsx lock-holder.ts <dir> [--crash]`. Prints `locked <pid>` once it holds the lock (and
 * has written stack.json naming itself); `--crash` then SIGKILLs itself, leaving the lock behind as a
 * crashed stack does. Reads commands on stdin: `stop` (answers `stopping`) and `release`.
 */
import { createInterface } from 'node:readline';
import { writeStackInfo } from '../../src/local/data-dir.ts';
import { lockDataDir } from '../../src/local/data-dir-lock.ts';
import { stackInfoFor } from '../support/fixtures.ts';

const [dir, flag] = process.argv.slice(2) as [string, string | undefined];
const lock = await lockDataDir(dir);
writeStackInfo(dir, stackInfoFor(dir, process.pid));
process.stdout.write(`locked ${process.pid}\n`);
if (flag === '--crash') process.kill(process.pid, 'SIGKILL');
createInterface({ input: process.stdin }).on('line', (command) => {
  if (command === 'stop') {
    lock.markStopping();
    process.stdout.write('stopping\n');
  }
  if (command === 'release') void lock.release().then(() => process.exit(0));
});
