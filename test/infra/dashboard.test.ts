/**
 * The dashboard (infra/jwks-dashboard.ts): one row per operator question, reading exactly the metrics
 * the handlers and the canary write; docs/dashboard.svg is its current layout.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_SVG, renderDashboardSvg } from '../../bench/dashboard-svg.ts';
import { dashboardBodyText } from '../../infra/dashboard-layout.ts';
import {
  CANARY_METRICS,
  CANARY_PATHS,
  METRICS,
  METRICS_NAMESPACE,
  SERVICE_NAMES,
} from '../../src/constants.ts';
import { synth } from './synth.ts';

describe('JwksDashboard', () => {
  const { template } = synth();
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.parse(dashboardBodyText(dashboards[0]?.Properties.DashboardBody)) as {
    widgets: Array<{ properties: { title?: string; metrics?: unknown[][]; annotations?: unknown } }>;
  };
  const titles = body.widgets.map((w) => w.properties.title ?? '');
  const metricsOf = (title: RegExp) =>
    body.widgets
      .filter((w) => title.test(w.properties.title ?? ''))
      .flatMap((w) => w.properties.metrics ?? []);

  it('is one dashboard whose name carries the stack and the region', () => {
    expect(dashboards).toHaveLength(1);
    expect(JSON.stringify(dashboards[0]?.Properties.DashboardName)).toContain('JwksPublisher-prod-');
    expect(JSON.stringify(dashboards[0]?.Properties.DashboardName)).toContain('AWS::Region');
  });

  it('shows rotation age against rotationPeriod and the time since the last publication, from the rotate metrics', () => {
    const [age] = body.widgets.filter((w) => /ACTIVE key age/.test(w.properties.title ?? ''));
    expect(age?.properties.metrics?.[0]).toEqual(
      expect.arrayContaining([METRICS_NAMESPACE, METRICS.ACTIVE_KEY_AGE]),
    );
    expect(JSON.stringify(age?.properties.annotations)).toContain(String(30 * 86_400));
    expect(metricsOf(/last key publication/)[0]).toEqual(
      expect.arrayContaining([METRICS_NAMESPACE, METRICS.SINCE_LAST_PUBLICATION]),
    );
  });

  it('shows publish latency, stream iterator age, token rate, errors and latency, and KMS', () => {
    for (const t of [
      /Publish latency/,
      /iterator age/,
      /Token requests/,
      /Token errors/,
      /Token latency/,
      /KMS/,
    ]) {
      expect(
        titles.some((x) => t.test(x)),
        String(t),
      ).toBe(true);
    }
    expect(JSON.stringify(metricsOf(/iterator age/))).toMatch(/IteratorAge.*IteratorAge/);
    expect(JSON.stringify(metricsOf(/Token errors/))).toMatch(/4XXError.*5XXError/);
  });

  it('shows the canary success and latency of every public path, with the dimensions the canary writes', () => {
    const paths = Object.values(CANARY_PATHS);
    for (const title of [/Canary success/, /Canary latency/]) {
      const lines = metricsOf(title).map((m) => JSON.stringify(m));
      expect(lines).toHaveLength(paths.length);
      for (const path of paths) {
        expect(
          lines.some(
            (l) =>
              l.includes(`"${METRICS_NAMESPACE}"`) &&
              l.includes(`"${SERVICE_NAMES.CANARY}"`) &&
              l.includes(`"${path}"`),
          ),
          path,
        ).toBe(true);
      }
    }
  });

  it('shows the JWKS staleness of both JWKS paths against the staleness alarm threshold', () => {
    const [widget] = body.widgets.filter((w) => /JWKS staleness/.test(w.properties.title ?? ''));
    const lines = (widget?.properties.metrics ?? []).map((m) => JSON.stringify(m));
    expect(lines).toHaveLength(2);
    for (const path of [CANARY_PATHS.CLOUDFRONT_JWKS, CANARY_PATHS.APIGW_JWKS]) {
      expect(
        lines.some(
          (l) =>
            l.includes(`"${CANARY_METRICS.STALENESS}"`) &&
            l.includes(`"${SERVICE_NAMES.CANARY}"`) &&
            l.includes(`"${path}"`),
        ),
        path,
      ).toBe(true);
    }
    // The default policy's threshold (300 s + 300 s + 5 min), the same number the alarms compare with.
    expect(widget?.properties.annotations).toEqual({
      horizontal: [{ value: 900, label: 'alarm threshold', yAxis: 'left' }],
    });
  });

  it('matches the committed picture docs/dashboard.svg (regenerate: node --import tsx bench/dashboard-svg.ts)', () => {
    expect(readFileSync(DASHBOARD_SVG, 'utf8')).toBe(renderDashboardSvg());
  });
});
