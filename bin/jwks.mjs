#!/usr/bin/env node
/**
 * The `jwks` command (package.json "bin"). It runs the compiled CLI in dist/cli/ (`npm ci` builds it:
 * the `prepare` script, scripts/build-cli.mjs) — starting in a tenth of a second instead of compiling
 * TypeScript on every run — as long as that build is newer than every source file it was built from.
 * Otherwise (no build yet, or src/ edited since) it runs src/ through tsx's ESM loader, so an edit is
 * never hidden behind a stale build.
 * @see https://tsx.is/dev-api/register-esm
 */
import { readFileSync, statSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';

// V8's code cache for the CLI's modules on disk (Node ≥ 22.1; a no-op before): `status` and `sign`
// load ~1.5 MB of bundled SDK, and compiling it again on every run was a tenth of their start-up.
// The cache lives in the OS temp dir (node-compile-cache/), keyed by file content and Node version.
// @see https://nodejs.org/api/module.html#module-compile-cache
module.enableCompileCache?.();

const root = join(import.meta.dirname, '..');

/** dist/cli/main.js when its build is current, else undefined. */
function currentBuild() {
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(join(root, 'dist/cli/inputs.json'), 'utf8'));
    for (const input of inputs) if (statSync(join(root, input)).mtimeMs > builtAt) return undefined;
    return join(root, 'dist/cli/main.js');
  } catch {
    return undefined; // no build, or a source file it names is gone
  }
}

// The SDK prints an eight-line notice about its future Node.js support on every run under a Node line it
// is about to drop. A CLI's stderr is for warnings an operator acts on (rotate --now), so the notice is
// off unless the operator set the variable themselves.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const built = currentBuild();
let cli;
if (built) {
  cli = await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
const { main, defaultLoader } = cli;
const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  loadContext: defaultLoader(process.env),
});
// Exit once stdout and stderr have drained: an SDK client's keep-alive socket or a pending timer must
// not keep a finished command alive, and a piped `--json` document must not be cut short.
process.exitCode = code;
let pending = 2;
const done = () => {
  if (--pending === 0) process.exit(code);
};
process.stdout.write('', done);
process.stderr.write('', done);
