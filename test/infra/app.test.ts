import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../infra/handler-bundling.ts';

const outdir = mkdtempSync(join(tmpdir(), 'jwks-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/**
 * Runs infra/app.ts the way the CDK CLI does: context in CDK_CONTEXT_JSON, output dir in CDK_OUTDIR,
 * and no CDK_DEFAULT_ACCOUNT/REGION (the CLI sets them only from credentials).
 */
const { CDK_DEFAULT_ACCOUNT: _account, CDK_DEFAULT_REGION: _region, ...baseEnv } = process.env;
function runApp(context: Record<string, unknown>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'infra/app.ts'],
      {
        cwd: PACKAGE_ROOT,
        env: { ...baseEnv, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        timeout: 90_000,
      },
      (err, _stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

describe('infra/app.ts', () => {
  it.concurrent.each([
    [{ envName: 'no spaces allowed' }, 'INVALID_CONFIG', 'envName'],
    [{ rotationPeriod: '3d' }, 'INVALID_POLICY', 'prepublishLead'],
    [{ algorithm: 'none' }, 'INVALID_POLICY', 'algorithm'],
    [{ regions: 'eu-west-1,us-east-1' }, 'INVALID_CONFIG', 'account'],
    [{ regions: 'eu-west-1,eu-west-1', account: '111122223333' }, 'INVALID_CONFIG', 'regions'],
    [
      { regions: 'eu-west-1,us-east-1', account: '111122223333', retention: '3905s' },
      'INVALID_POLICY',
      'retention',
    ],
  ])(
    'exits non-zero naming the setting when the context is %j',
    async (context, code, setting) => {
      const run = await runApp({ ...context, 'aws:cdk:bundling-stacks': [] });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`(${code}): ${setting}:`);
    },
    90_000,
  );
});
