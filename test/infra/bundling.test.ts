/**
 * `cdk synth` as CI runs it: the real app, esbuild bundling the real handlers (no Docker), cdk-nag
 * registered. Slow (esbuild plus a full synth), hence the generous timeout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_ESBUILD, HANDLERS, PACKAGE_ROOT } from '../../infra/handler-bundling.ts';

const outdir = mkdtempSync(join(tmpdir(), 'jwks-cdk-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

describe('cdk synth with bundling', () => {
  let run: ReturnType<typeof spawnSync>;
  let template: Template;

  beforeAll(() => {
    run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ envName: 'ci' }), CDK_OUTDIR: outdir },
      timeout: 240_000,
    });
    const file = join(outdir, 'JwksPublisher-ci.template.json');
    template = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { Resources: {} };
  }, 300_000);

  it('succeeds with cdk-nag registered', () => {
    expect(run.stderr.toString()).not.toMatch(/AwsSolutions-/);
    expect(run.status).toBe(0);
  });

  it('bundles each handler into one minified ESM file with a source map', () => {
    // Our handlers; the CDK trigger's provider (first-reconcile.ts) is CDK's own prebuilt asset.
    const functions = Object.entries(template.Resources)
      .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && !id.startsWith('AWSCDKTrigger'))
      .map(([, r]) => r);
    expect(functions).toHaveLength(HANDLERS.length);
    for (const fn of functions) {
      // The code's S3 key is `<asset hash>.zip`; the staged asset is the directory `asset.<hash>`.
      const key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const asset = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      const code = readFileSync(join(asset, 'index.mjs'), 'utf8');
      expect(existsSync(join(asset, 'index.mjs.map'))).toBe(true);
      expect(fn.Properties.Handler).toBe('index.handler');
      // Minified: thousands of characters per line (the only newlines left are inside template
      // literals); self-contained: no SDK left to the runtime.
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    }
  });

  it('runs every handler on nodejs24.x with its bundle built for that same Node line', () => {
    // nodejs22.x is deprecated from April 2027; nodejs24.x is supported into 2028.
    // @see https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-supported
    const runtimes = Object.entries(template.Resources)
      .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && !id.startsWith('AWSCDKTrigger'))
      .map(([, r]) => r.Properties.Runtime);
    expect(runtimes).toHaveLength(HANDLERS.length);
    expect(new Set(runtimes)).toEqual(new Set(['nodejs24.x']));
    // A bundle built for a newer line than the runtime may use syntax the runtime cannot parse.
    expect(HANDLER_ESBUILD.target).toBe(`node${String(runtimes[0]).match(/^nodejs(\d+)\.x$/)?.[1]}`);
  });

  it('bundles the token handler, the RFC 9068 token type and all, for the token function', () => {
    expect(HANDLERS).toContain('token');
    const fn = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).includes('/oauth2/token'),
    );
    const key = (fn?.Properties.Code as { S3Key: string } | undefined)?.S3Key ?? '';
    const code = readFileSync(join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
    expect(code).toContain('at+jwt');
    expect(code).toContain('client_credentials');
  });
});
