/**
 * A CloudFront-compatible `CreateInvalidation` endpoint on the local edge, so the real CloudFront
 * adapter (src/adapters/aws/cloudfront.ts) runs locally too, pointed at the edge through the SDK's
 * endpoint setting: the publisher in the stack and the `jwks publish` CLI purge the same cache through
 * the same code path as in AWS. Only what the SDK sends and parses is implemented.
 *
 * Not reachable from a browser (design §11): a request that names an Origin or a fetch context
 * (`Sec-Fetch-*`), or lacks the SigV4 headers every SDK request carries (a plain form post), gets 403.
 * A page cannot add those headers cross-origin without a preflight, and the edge grants none here.
 * @see https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cdn } from '../ports.ts';
import { readSmallBody } from './request-body.ts';

export const LOCAL_DISTRIBUTION_ID = 'LOCALEDGE';
export const INVALIDATION_PATH = `/2020-05-31/distribution/${LOCAL_DISTRIBUTION_ID}/invalidation`;
const MAX_BODY = 64 * 1024;

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const xmlUnescape = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function sendXml(
  res: ServerResponse,
  status: number,
  xml: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
  res.writeHead(status, { ...headers, 'Content-Type': 'text/xml', 'Content-Length': String(body.length) });
  res.end(body);
}

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

/** Whether the request comes from a browser rather than an AWS SDK (see the header comment). */
function fromBrowser(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h.origin !== undefined || h['sec-fetch-mode'] !== undefined || h['sec-fetch-site'] !== undefined) {
    return true;
  }
  return h['x-amz-date'] === undefined || !/^AWS4-HMAC-SHA256 /.test(h.authorization ?? '');
}

/** The route handler: parse the InvalidationBatch, purge through `cdn`, answer 201 like CloudFront. */
export function createInvalidationRoute(cdn: Cdn) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (fromBrowser(req)) {
      req.resume();
      sendXml(res, 403, errorXml('AccessDenied', 'invalidations are taken from an AWS SDK only'));
      return;
    }
    const xml = (await readSmallBody(req, MAX_BODY))?.toString('utf8');
    const callerReference = xml?.match(/<CallerReference>([^<]*)<\/CallerReference>/)?.[1];
    const paths = [...(xml ?? '').matchAll(/<Path>([^<]*)<\/Path>/g)].map((m) => xmlUnescape(m[1] ?? ''));
    if (xml === undefined || callerReference === undefined || paths.length === 0) {
      sendXml(
        res,
        400,
        errorXml('InvalidArgument', 'an InvalidationBatch with Paths and CallerReference is required'),
      );
      return;
    }
    try {
      await cdn.invalidate(paths, xmlUnescape(callerReference));
    } catch (err) {
      sendXml(res, 400, errorXml('InvalidArgument', (err as Error).message));
      return;
    }
    const id = `I${randomUUID().replace(/-/g, '').slice(0, 13).toUpperCase()}`;
    const items = paths.map((p) => `<Path>${xmlEscape(p)}</Path>`).join('');
    sendXml(
      res,
      201,
      `<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>${id}</Id><Status>Completed</Status><CreateTime>${new Date().toISOString()}</CreateTime><InvalidationBatch><Paths><Quantity>${paths.length}</Quantity><Items>${items}</Items></Paths><CallerReference>${xmlEscape(callerReference)}</CallerReference></InvalidationBatch></Invalidation>`,
      { Location: `${INVALIDATION_PATH}/${id}` },
    );
  };
}
