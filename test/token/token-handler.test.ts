import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenHandler, eventHeaders } from '../../src/handlers/token-handler.ts';
import { API, basic, createHarness, FORM, form, type Harness, ISSUER } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});

function event(overrides: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    resource: '/oauth2/token',
    path: '/oauth2/token',
    httpMethod: 'POST',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    body: null,
    isBase64Encoded: false,
    ...overrides,
  };
}

const cc = form({ grant_type: 'client_credentials' });

describe('createTokenHandler', () => {
  it('issues a token when the proxy event has mixed-case headers and a text body', async () => {
    const handler = createTokenHandler(h.endpoint);
    const res = await handler(
      event({
        headers: { 'Content-Type': FORM, AUTHORIZATION: basic('svc-a', h.secrets['svc-a'] ?? '') },
        body: cc,
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.isBase64Encoded).toBe(false);
    expect(res.headers).toMatchObject({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const token = JSON.parse(res.body).access_token as string;
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [h.publicJwk] }), {
      issuer: ISSUER,
      audience: API,
      typ: 'at+jwt',
      currentDate: new Date(h.now),
    });
    expect(payload.client_id).toBe('svc-a');
  });

  it('decodes the body when the event is base64-encoded', async () => {
    const handler = createTokenHandler(h.endpoint);
    const res = await handler(
      event({
        multiValueHeaders: { 'content-type': [FORM] },
        body: Buffer.from(
          form({
            grant_type: 'client_credentials',
            client_id: 'svc-a',
            client_secret: h.secrets['svc-a'] ?? '',
          }),
        ).toString('base64'),
        isBase64Encoded: true,
      }),
    );
    expect(res.statusCode).toBe(200);
  });

  it('refuses with invalid_request when multiValueHeaders carry two Authorization values', async () => {
    const handler = createTokenHandler(h.endpoint);
    const secret = h.secrets['svc-a'] ?? '';
    const res = await handler(
      event({
        headers: { 'Content-Type': FORM, Authorization: basic('svc-a', secret) },
        multiValueHeaders: {
          'Content-Type': [FORM],
          Authorization: [basic('svc-off', 'x'), basic('svc-a', secret)],
        },
        body: cc,
      }),
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toBe('invalid_request');
  });

  it('answers 405 with Allow when the method is GET', async () => {
    const res = await createTokenHandler(h.endpoint)(event({ httpMethod: 'GET' }));
    expect(res.statusCode).toBe(405);
    expect(res.headers?.Allow).toBe('POST');
  });

  it('answers invalid_request when the body is null', async () => {
    const res = await createTokenHandler(h.endpoint)(event({ headers: { 'content-type': FORM } }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toBe('invalid_request');
  });
});

describe('eventHeaders', () => {
  it('lower-cases names and keeps every value of a repeated header when both maps are present', () => {
    expect(
      eventHeaders({
        headers: { Accept: 'b', 'X-Two': '2' },
        multiValueHeaders: { Accept: ['a', 'b'], 'x-one': ['1'] },
      }),
    ).toEqual({ accept: ['a', 'b'], 'x-one': '1', 'x-two': '2' });
  });

  it('uses headers alone when multiValueHeaders is absent', () => {
    const e = {
      headers: { 'Content-Type': FORM },
      multiValueHeaders: undefined,
    } as unknown as APIGatewayProxyEvent;
    expect(eventHeaders(e)).toEqual({ 'content-type': FORM });
  });
});
