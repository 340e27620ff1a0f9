/**
 * How each Lambda handler is bundled: one description shared by the CDK construct (which hands it to
 * `NodejsFunction`, i.e. to the esbuild CLI) and by `bench/bundles.ts` (which calls the esbuild API
 * with the same settings), so the benchmark measures the bundle that is deployed.
 *
 * No aws-cdk-lib import here: the bench loads this file and must not pay for the CDK.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Lambda handlers this package deploys, by name; each is `src/handlers/<name>.ts`. */
export const HANDLERS = ['rotate', 'publish', 'events', 'token', 'canary'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** Root of this package (where package-lock.json lives), resolved from this file, not from cwd. */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

export const handlerEntry = (name: HandlerName): string =>
  fileURLToPath(new URL(`../src/handlers/${name}.ts`, import.meta.url));

export const handlerExists = (name: HandlerName): boolean => existsSync(handlerEntry(name));

/**
 * esbuild settings. ESM output (`index.mjs`) because the handlers are ES modules and may use
 * top-level await; the banner gives bundled CommonJS dependencies a `require` (esbuild's ESM output
 * has none). Everything is bundled, the AWS SDK included: the runtime's preinstalled SDK version
 * changes under us without notice, and one minified file loads faster than a node_modules tree.
 */
export const HANDLER_ESBUILD = {
  platform: 'node',
  /** Matches the functions' runtime (nodejs24.x in handler-function.ts); the template tests check both. */
  target: 'node24',
  format: 'esm',
  outExtension: '.mjs',
  minify: true,
  sourcemap: true,
  /** The map carries positions only; the sources are in git, not in every deployment package. */
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner:
    "import { createRequire as __jwksCreateRequire } from 'node:module';const require = __jwksCreateRequire(import.meta.url);",
  external: [] as string[],
} as const;
