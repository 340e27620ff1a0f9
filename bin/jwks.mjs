#!/usr/bin/env node
/**
 * The `jwks` command (package.json "bin"). The CLI is TypeScript run through tsx, like `npm start`:
 * no build step, so the CLI is always the code in src/. `register()` installs tsx's ESM loader hooks
 * in this process before the CLI is imported.
 * @see https://tsx.is/dev-api/register-esm
 */
import { register } from 'tsx/esm/api';

register();

// The SDK prints an eight-line notice about its future Node.js support on every run under Node 20 (which
// package.json supports). A CLI's stderr is for warnings an operator acts on (rotate --now), so the
// notice is off unless the operator set the variable themselves.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main, defaultLoader } = await import('../src/cli/main.ts');
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
