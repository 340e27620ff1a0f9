/**
 * Writes docs/dashboard.svg: the layout of the stack's CloudWatch dashboard, from the synthesized
 * template (`node --import tsx bench/dashboard-svg.ts`). test/infra/dashboard.test.ts fails when the
 * committed picture no longer matches the dashboard.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { dashboardBodyText, dashboardSvg } from '../infra/dashboard-layout.ts';
import { FEATURE_FLAGS } from '../infra/feature-flags.ts';
import { JwksPublisherStack } from '../infra/jwks-publisher-stack.ts';

export const DASHBOARD_SVG = fileURLToPath(new URL('../docs/dashboard.svg', import.meta.url));

export function renderDashboardSvg(): string {
  const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
  const stack = new JwksPublisherStack(app, 'JwksPublisher-prod');
  const [dashboard] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
  return dashboardSvg(dashboardBodyText(dashboard?.Properties.DashboardBody));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DASHBOARD_SVG, renderDashboardSvg());
  console.log(`wrote ${DASHBOARD_SVG}`);
}
