/**
 * The token Lambda's handler factory: an API Gateway REST API proxy event (`POST /oauth2/token`,
 * reached through CloudFront at the issuer's origin, design §2) in, the endpoint's answer out. All
 * OAuth logic lives in token/endpoint.ts; this only translates the envelope:
 *
 * - header names are case-insensitive: they are lower-cased, and `multiValueHeaders` (which holds
 *   every value of a repeated header) wins over `headers` (which holds only the last one), so a
 *   repeated Authorization or Content-Type header is seen and refused;
 * - `isBase64Encoded` bodies (binary media types on the API) are decoded to bytes;
 * - the response is always text JSON (`isBase64Encoded: false`).
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { TokenEndpoint } from '../token/endpoint.ts';

export type TokenHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

type HeaderMap = Record<string, string | string[]>;

/** Lower-cased headers; repeated ones (across spellings too) as arrays. */
export function eventHeaders(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>): HeaderMap {
  const values = new Map<string, string[]>();
  const add = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    const key = name.toLowerCase();
    values.set(key, [...(values.get(key) ?? []), value]);
  };
  const multi = event.multiValueHeaders ?? {};
  for (const [name, list] of Object.entries(multi)) for (const v of list ?? []) add(name, v);
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    // `headers` repeats the last value of each multi-value header: use it only when absent there.
    if (!values.has(name.toLowerCase())) add(name, value);
  }
  const out: HeaderMap = {};
  for (const [name, list] of values) out[name] = list.length === 1 ? (list[0] as string) : list;
  return out;
}

export function createTokenHandler(endpoint: Pick<TokenEndpoint, 'handle'>): TokenHandler {
  return async (event) => {
    const raw = event.body ?? '';
    const body = event.isBase64Encoded ? new Uint8Array(Buffer.from(raw, 'base64')) : raw;
    const response = await endpoint.handle({ method: event.httpMethod, headers: eventHeaders(event), body });
    return {
      statusCode: response.status,
      headers: { ...response.headers },
      body: response.body,
      isBase64Encoded: false,
    };
  };
}
