/**
 * `npm run build:cli` (also `prepare`, so `npm ci` runs it): the `jwks` CLI as compiled ESM in
 * dist/cli/ (git-ignored), split per dynamic import so `--help` loads almost nothing and `status` no
 * KMS or SNS client; npm packages are bundled too. bin/jwks.mjs runs this build while it is
 * newer than every source file it was built from (dist/cli/inputs.json) and falls back to tsx
 * otherwise, so an edited src/ never runs stale.
 * @see https://esbuild.github.io/api/#splitting
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/cli');
rmSync(outdir, { recursive: true, force: true }); // no chunk of an earlier build survives
const startedAt = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  // The SDK bundled: Node resolving and loading a few thousand small files of @aws-sdk/* and @smithy/*
  // was most of `status`'s start. CommonJS parts of them call require(), hence the banner.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
mkdirSync(outdir, { recursive: true });
const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/'));
writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify({ builtAt: startedAt, inputs })}\n`);
