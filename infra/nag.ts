/**
 * cdk-nag's AwsSolutions pack as a CDK policy validation plugin (cdk-nag 3): it runs during
 * `app.synth()`, and any unacknowledged error fails the synth (the CLI prints the report and exits
 * non-zero). Findings are acknowledged next to the construct they concern, with a reason, via
 * `Validations.of(construct).acknowledge(...)`.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

export function enableNag(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
