/**
 * A simulated region that comes back (ADR 0008) restarts its server: `start()` after `stop()` must
 * listen on the port it first bound, even when that was a free port picked with port 0, because the
 * edge and stack.json already name that URL.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OBJECT_KEYS, PATHS } from '../../src/constants.ts';
import { EdgeServer } from '../../src/local/edge-server.ts';
import { FakeStore } from './edge-fixtures.ts';

describe('EdgeServer stop and start', () => {
  let edge: EdgeServer;
  let blocker: Server | undefined;
  afterEach(async () => {
    await edge.stop();
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    blocker = undefined;
  });

  function serving(): FakeStore {
    const store = new FakeStore();
    store.set(OBJECT_KEYS.JWKS, '{"keys":[]}');
    edge = new EdgeServer({ store, port: 0 });
    return store;
  }

  it('listens again on the port it first picked when port 0 was asked for', async () => {
    serving();
    const first = (await edge.start()).url;
    await edge.stop();
    await expect(fetch(`${first}${PATHS.JWKS}`)).rejects.toThrow();
    const second = (await edge.start()).url;
    expect(second).toBe(first);
    expect(edge.url).toBe(first);
    expect((await fetch(`${second}${PATHS.JWKS}`)).status).toBe(200);
  });

  it('keeps the port across several restarts', async () => {
    serving();
    const first = (await edge.start()).url;
    for (let i = 0; i < 3; i++) {
      await edge.stop();
      expect((await edge.start()).url).toBe(first);
    }
  });

  it('fails with ADDRESS_IN_USE naming its port when another server took it while stopped', async () => {
    serving();
    const { url } = await edge.start();
    const port = Number(new URL(url).port);
    await edge.stop();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(port, '127.0.0.1', resolve));
    const err = await edge.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ADDRESS_IN_USE' });
    expect((err as Error).message).toContain(`:${port}`);
  });

  it('drops open connections when stopped so a request in flight does not hold the port', async () => {
    const store = serving();
    let release = () => {};
    store.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { url } = await edge.start();
    const inFlight = fetch(`${url}${PATHS.JWKS}`).then(
      (r) => r.status,
      () => 'dropped',
    );
    while (store.gets === 0) await new Promise((r) => setTimeout(r, 5));
    // Without dropping the connection, stop() would wait for the held-back origin read forever.
    const stopped = await Promise.race([
      edge.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('hung'), 2_000)),
    ]);
    release();
    expect(stopped).toBe('stopped');
    expect(await inFlight).toBe('dropped');
    store.gate = undefined;
    expect((await edge.start()).url).toBe(url);
    expect((await fetch(`${url}${PATHS.JWKS}`)).status).toBe(200);
  });
});
