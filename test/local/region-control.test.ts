/**
 * The switchboard of a multi-region local stack (ADR 0008), over real HTTP on the local edge: status,
 * taking a region down and back, the replication delay, and the refusals that keep web pages out.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parsePolicy } from '../../src/core/policy.ts';
import { EdgeServer } from '../../src/local/edge-server.ts';
import {
  REGIONS_CONTROL_PATH,
  REPLICATION_CONTROL_PATH,
  RegionSwitchboard,
} from '../../src/local/region-control.ts';
import { MemoryObjectStore } from '../support/memory.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const policy = parsePolicy({}, { multiRegion: true }).policy; // maxReplicationLag 30 s

describe('RegionSwitchboard routes', () => {
  let edge: EdgeServer;
  let url: string;
  let board: RegionSwitchboard;
  let changes: string[];
  /** Each onChange waits this long, so overlapping requests would interleave if not serialized. */
  let changeDelayMs: number;

  beforeEach(async () => {
    changes = [];
    changeDelayMs = 0;
    board = new RegionSwitchboard({
      regions: [A, B],
      lagMs: 1_000,
      policy,
      onChange: async (region, up) => {
        changes.push(`start ${region} ${up}`);
        await new Promise((resolve) => setTimeout(resolve, changeDelayMs));
        changes.push(`end ${region} ${up}`);
      },
    });
    edge = new EdgeServer({ store: new MemoryObjectStore(), port: 0 });
    for (const [method, path, handler] of board.routes()) edge.route(method, path, handler);
    ({ url } = await edge.start());
  });
  afterEach(async () => {
    await edge.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('reports every region up and the lag when nothing was changed', async () => {
    const res = await fetch(`${url}${REGIONS_CONTROL_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.json()).toEqual({
      regions: [
        { region: A, up: true },
        { region: B, up: true },
      ],
      replicationLagMs: 1_000,
    });
  });

  it('takes a region down and reports it when POST {"up":false} is sent', async () => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${B}`, { up: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ region: B, up: false });
    expect(changes).toEqual([`start ${B} false`, `end ${B} false`]);
    expect(board.isUp(B)).toBe(false);
    expect(board.isUp(A)).toBe(true);
    const status = (await (await fetch(`${url}${REGIONS_CONTROL_PATH}`)).json()) as { regions: unknown[] };
    expect(status.regions).toContainEqual({ region: B, up: false });
  });

  it('brings a region back when POST {"up":true} follows', async () => {
    await post(`${REGIONS_CONTROL_PATH}/${A}`, { up: false });
    const res = await post(`${REGIONS_CONTROL_PATH}/${A}`, { up: true });
    expect(await res.json()).toEqual({ region: A, up: true });
    expect(board.isUp(A)).toBe(true);
    expect(changes).toEqual([`start ${A} false`, `end ${A} false`, `start ${A} true`, `end ${A} true`]);
  });

  it('does not call onChange when the region is already in the state asked for', async () => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${A}`, { up: true });
    expect(await res.json()).toEqual({ region: A, up: true });
    expect(changes).toEqual([]);
  });

  it('runs changes one at a time and ends up when a down is followed at once by an up', async () => {
    changeDelayMs = 50;
    const pendingDown = post(`${REGIONS_CONTROL_PATH}/${B}`, { up: false });
    // Sent while the down is still running (it has started, and it takes changeDelayMs).
    await vi.waitFor(() => expect(changes).toContain(`start ${B} false`), { timeout: 5_000, interval: 1 });
    const [down, up] = await Promise.all([pendingDown, post(`${REGIONS_CONTROL_PATH}/${B}`, { up: true })]);
    expect([down.status, up.status]).toEqual([200, 200]);
    expect(changes).toEqual([`start ${B} false`, `end ${B} false`, `start ${B} true`, `end ${B} true`]);
    expect(board.isUp(B)).toBe(true);
  });

  it('answers 415 and changes nothing when the POST is not application/json', async () => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${B}`, '{"up":false}', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(board.isUp(B)).toBe(true);
  });

  it.each([
    ['"up" is a string', '{"up":"false"}'],
    ['"up" is missing', '{}'],
    ['the body is an array', '[false]'],
    ['the body is null', 'null'],
    ['the body is not JSON', '{up:false'],
  ])('answers 400 invalid_request and changes nothing when %s', async (_label, body) => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${B}`, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    expect(board.isUp(B)).toBe(true);
    expect(changes).toEqual([]);
  });

  it('takes the region down when the body also has "status" and "body" members', async () => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${B}`, { up: false, status: 200, body: {} });
    expect(await res.json()).toEqual({ region: B, up: false });
    expect(board.isUp(B)).toBe(false);
  });

  it('answers 413 and changes nothing when the body is over 4 KiB', async () => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${B}`, { up: false, pad: 'x'.repeat(5_000) });
    expect(res.status).toBe(413);
    expect(board.isUp(B)).toBe(true);
  });

  it.each([
    ['an Origin header', { origin: 'https://evil.example' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
  ])('answers 403 and changes nothing when the POST comes with %s', async (_label, headers) => {
    const res = await post(`${REGIONS_CONTROL_PATH}/${B}`, { up: false }, headers);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'forbidden' });
    expect(board.isUp(B)).toBe(true);
  });

  it('answers 403 to a status read when it comes with an Origin header', async () => {
    const res = await fetch(`${url}${REGIONS_CONTROL_PATH}`, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
  });

  it('answers 404 when the region is not one of the stack', async () => {
    const res = await post(`${REGIONS_CONTROL_PATH}/ap-south-1`, { up: false });
    expect(res.status).toBe(404);
    expect(changes).toEqual([]);
  });

  it('sets the replication lag from a duration or a number of milliseconds', async () => {
    const res = await post(REPLICATION_CONTROL_PATH, { lag: '2s' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ replicationLagMs: 2_000 });
    expect(board.lagMs).toBe(2_000);
    await post(REPLICATION_CONTROL_PATH, { lag: 30_000 });
    expect(board.lagMs).toBe(30_000);
  });

  it.each([
    ['above maxReplicationLag', { lag: '31s' }],
    ['not a duration', { lag: 'soon' }],
    ['a fraction of a millisecond', { lag: 1.5 }],
    ['missing', {}],
  ])('answers 400 invalid_request and keeps the lag when "lag" is %s', async (_label, body) => {
    const res = await post(REPLICATION_CONTROL_PATH, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    expect(board.lagMs).toBe(1_000);
  });

  it('answers 403 and keeps the lag when the lag POST comes from a page', async () => {
    const res = await post(REPLICATION_CONTROL_PATH, { lag: '2s' }, { 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(403);
    expect(board.lagMs).toBe(1_000);
  });
});
