/**
 * One CloudWatch dashboard per stack (issue 10 §5): each row answers one question an operator asks.
 * 1. Is rotation on time? ACTIVE key age against `rotationPeriod`; time since the last key publication.
 * 2. Is publication healthy? publish latency (function duration), stream iterator age of both consumers.
 * 3. Is the token endpoint healthy? requests, 4xx/5xx, latency at the stage.
 * 4. Is KMS keeping up? Sign calls (account usage metric) and the token function's throttles/errors.
 * 5. Do verifiers get the keys? The canary's success and latency per public path, and how far the
 *    JWKS each path serves lags the registry (against the alarm's threshold).
 * The layout is drawn in docs/dashboard.svg from the synthesized body (bench/dashboard-svg.ts).
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CANARY_METRICS, CANARY_PATHS, METRICS, SERVICE_NAMES } from '../src/constants.ts';
import { globalName } from './global-names.ts';
import { handlerMetric } from './jwks-alarms.ts';

export interface JwksDashboardProps {
  readonly deploymentName: string;
  /** `rotationPeriod` in milliseconds: the horizontal line the ACTIVE key's age must stay under. */
  readonly rotationPeriodMs: number;
  readonly publishFunction: lambda.IFunction;
  readonly eventsFunction: lambda.IFunction;
  readonly tokenFunction: lambda.IFunction;
  /** API name and stage of `POST /oauth2/token`. */
  readonly apiName: string;
  readonly stageName: string;
  readonly tokenPath: string;
  /** The canary's staleness alarm threshold (JwksCanary.stalenessThreshold): the line drawn on its graph. */
  readonly stalenessThreshold: Duration;
}

const WIDTH = 24;

export class JwksDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: JwksDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const rotate = (name: string, label: string) =>
      handlerMetric(props.deploymentName, SERVICE_NAMES.ROTATE, name, {
        statistic: 'Maximum',
        period: Duration.hours(1),
      }).with({ label });
    const api = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: {
          ApiName: props.apiName,
          Method: 'POST',
          Resource: props.tokenPath,
          Stage: props.stageName,
        },
        statistic,
        period,
        label,
      });
    // Exactly what the canary writes (Powertools: Deployment, service and its Path dimension).
    const canary = (
      metricName: string,
      statistic: string,
      paths: readonly string[] = Object.values(CANARY_PATHS),
    ) =>
      paths.map((path) =>
        handlerMetric(props.deploymentName, SERVICE_NAMES.CANARY, metricName, {
          statistic,
          period,
          label: path,
          dimensions: { [CANARY_METRICS.PATH_DIMENSION]: path },
        }),
      );
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      width: number,
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width, height: 6, ...extra });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboards are account-wide: stack and region in the name (global-names.ts).
      dashboardName: globalName(this, 'jwks', 255),
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# JWKS publisher ${props.deploymentName} (${Aws.REGION})\nAlarms and what to do: docs/runbook.md`,
        width: WIDTH,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'Rotation: ACTIVE key age vs rotationPeriod (s)',
        [rotate(METRICS.ACTIVE_KEY_AGE, 'ACTIVE key age')],
        12,
        {
          leftAnnotations: [{ value: props.rotationPeriodMs / 1000, label: 'rotationPeriod' }],
        },
      ),
      graph(
        'Time since last key publication (s)',
        [rotate(METRICS.SINCE_LAST_PUBLICATION, 'since last publication')],
        12,
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Publish latency (ms)',
        [
          props.publishFunction.metricDuration({ statistic: 'p99', period, label: 'p99' }),
          props.publishFunction.metricDuration({ statistic: 'Maximum', period, label: 'max' }),
        ],
        12,
      ),
      graph(
        'Stream iterator age (ms)',
        [
          props.publishFunction.metric('IteratorAge', { statistic: 'Maximum', period, label: 'publish' }),
          props.eventsFunction.metric('IteratorAge', { statistic: 'Maximum', period, label: 'events' }),
        ],
        12,
      ),
    );
    this.dashboard.addWidgets(
      graph('Token requests', [api('Count', 'Sum', 'requests')], 8),
      graph('Token errors', [api('4XXError', 'Sum', '4xx'), api('5XXError', 'Sum', '5xx')], 8),
      graph('Token latency (ms)', [api('Latency', 'p50', 'p50'), api('Latency', 'p99', 'p99')], 8),
    );
    this.dashboard.addWidgets(
      graph(
        'KMS Sign calls (account, AWS/Usage)',
        [
          new cloudwatch.Metric({
            namespace: 'AWS/Usage',
            metricName: 'CallCount',
            dimensionsMap: { Service: 'KMS', Type: 'API', Resource: 'Sign', Class: 'None' },
            statistic: 'Sum',
            period: Duration.minutes(1),
            label: 'Sign/min',
          }),
        ],
        12,
      ),
      graph(
        'KMS throttling seen by the token function',
        [
          props.tokenFunction.metricThrottles({ period, statistic: 'Sum', label: 'Lambda throttles' }),
          props.tokenFunction.metricErrors({ period, statistic: 'Sum', label: 'function errors' }),
          api('5XXError', 'Sum', '5xx (server_error: KMS or DynamoDB refused)'),
        ],
        12,
      ),
    );
    this.dashboard.addWidgets(
      graph('Canary success per path', canary(CANARY_METRICS.SUCCESS, 'Average'), 8, {
        leftYAxis: { min: 0, max: 1 },
      }),
      graph('Canary latency per path (ms)', canary(CANARY_METRICS.LATENCY, 'p90'), 8),
      graph(
        'JWKS staleness vs registry (s)',
        canary(CANARY_METRICS.STALENESS, 'Maximum', [CANARY_PATHS.CLOUDFRONT_JWKS, CANARY_PATHS.APIGW_JWKS]),
        8,
        { leftAnnotations: [{ value: props.stalenessThreshold.toSeconds(), label: 'alarm threshold' }] },
      ),
    );
  }
}
