/**
 * The dashboard's layout as an SVG picture (docs/dashboard.svg): widget boxes at their grid positions
 * with their titles, drawn from the synthesized `DashboardBody`. No aws-cdk-lib import: pure text in,
 * text out; test/infra/dashboard.test.ts regenerates it and compares with the committed file.
 */

/** CloudFormation's DashboardBody: a string, or an `Fn::Join` of strings and tokens. */
export function dashboardBodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  const join = (body as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error('DashboardBody is neither a string nor an Fn::Join');
  // Tokens (function names, the region) only appear inside strings: a placeholder keeps the JSON valid.
  return join[1].map((part) => (typeof part === 'string' ? part : '…')).join(join[0]);
}

interface Widget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: { readonly title?: string; readonly markdown?: string };
}

const COL = 40;
const ROW = 24;
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function dashboardSvg(bodyText: string): string {
  const { widgets } = JSON.parse(bodyText) as { widgets: Widget[] };
  const height = Math.max(...widgets.map((w) => w.y + w.height)) * ROW;
  const boxes = widgets.map((w) => {
    const title =
      w.properties.title ?? w.properties.markdown?.split('\n')[0]?.replace(/^#+\s*/, '') ?? w.type;
    const [x, y, width, h] = [w.x * COL + 2, w.y * ROW + 2, w.width * COL - 4, w.height * ROW - 4];
    return [
      `  <rect x="${x}" y="${y}" width="${width}" height="${h}" rx="4" fill="${w.type === 'text' ? '#eef3f8' : '#ffffff'}" stroke="#8a99a8"/>`,
      `  <text x="${x + 8}" y="${y + 18}" font-family="sans-serif" font-size="12" fill="#16191f">${escapeXml(title)}</text>`,
    ].join('\n');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${24 * COL}" height="${height}" viewBox="0 0 ${24 * COL} ${height}" role="img">`,
    '  <title>Layout of the jwks-publisher CloudWatch dashboard</title>',
    `  <rect width="100%" height="100%" fill="#f2f3f3"/>`,
    ...boxes,
    '</svg>',
    '',
  ].join('\n');
}
