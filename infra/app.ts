/**
 * CDK app entry (`cdk.json`: `npx tsx infra/app.ts`). Settings come from context (`-c envName=dev
 * -c rotationPeriod=30d …`, see docs/deploy.md); `-c regions=a,b` makes it one stack per region
 * (infra/multi-region.ts). cdk-nag's AwsSolutions pack runs as a policy validation plugin: any
 * unacknowledged error fails the synth.
 */
import { App } from 'aws-cdk-lib';
import { JwksError } from '../src/errors.ts';
import { stackInputFromContext } from './context.ts';
import { FEATURE_FLAGS } from './feature-flags.ts';
import { defineStacks } from './multi-region.ts';
import { enableNag } from './nag.ts';

const app = new App({ context: { ...FEATURE_FLAGS } });
try {
  const input = stackInputFromContext(app.node);
  // One stack, or with `-c regions=a,b,…` one per region (infra/multi-region.ts).
  defineStacks(app, input, {
    ...optionalEnv('account', input.account ?? process.env.CDK_DEFAULT_ACCOUNT),
    ...optionalEnv('defaultRegion', process.env.CDK_DEFAULT_REGION),
  });
} catch (err) {
  // A setting failed validation: say which, without a stack trace through the CDK.
  if (err instanceof JwksError) {
    console.error(`jwks-publisher: invalid setting (${err.code}): ${err.message}`);
    process.exit(1);
  }
  throw err;
}
enableNag(app);
app.synth();

function optionalEnv<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return (value === undefined || value === '' ? {} : { [key]: value }) as Partial<Record<K, string>>;
}
