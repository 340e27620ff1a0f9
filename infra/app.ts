/**
 * CDK app entry (`cdk.json`: `npx tsx infra/app.ts`). Settings come from context (`-c envName=dev
 * -c rotationPeriod=30d …`, see docs/deploy.md). cdk-nag's AwsSolutions pack runs as a policy
 * validation plugin: any unacknowledged error fails the synth.
 */
import { App } from 'aws-cdk-lib';
import { JwksError } from '../src/errors.ts';
import { stackInputFromContext } from './context.ts';
import { FEATURE_FLAGS } from './feature-flags.ts';
import { JwksPublisherStack } from './jwks-publisher-stack.ts';
import { enableNag } from './nag.ts';

const app = new App({ context: { ...FEATURE_FLAGS } });
try {
  const { stackName, props } = stackInputFromContext(app.node);
  new JwksPublisherStack(app, stackName, props);
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
