import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.ts';
import { verifySecretHash } from '../../src/token/secrets.ts';
import { MemoryClientStore } from '../token/memory-client-store.ts';
import { json, type MemoryStack, memoryStack, type RunResult, run } from './harness.ts';

const API = 'https://orders.example';
const dir = mkdtempSync(join(tmpdir(), 'jwks-cli-clients-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let stack: MemoryStack;
let clients: MemoryClientStore;
/** `jwks <argv>` against the memory stack with a client store in its context. */
const jwks = (argv: readonly string[], ctx: Partial<CliContext> = {}): Promise<RunResult> =>
  run(argv, stack, {
    loadContext: async (target) => {
      stack.loads.push(target);
      return { ...stack.ctx, clients, ...ctx };
    },
  });
const errorCode = (r: RunResult) => json<{ error: { code: string } }>(r).error.code;

let publicJwksFile: string;
let privateJwkFile: string;
let privateD: string;
beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  publicJwksFile = join(dir, 'public.json');
  writeFileSync(publicJwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
  const priv = await exportJWK(privateKey);
  privateD = String(priv.d);
  privateJwkFile = join(dir, 'private.json');
  writeFileSync(privateJwkFile, JSON.stringify(priv));
});

beforeEach(() => {
  stack = memoryStack();
  clients = new MemoryClientStore({ clock: () => stack.now });
});

const create = [
  'clients',
  'create',
  'svc',
  '--scope',
  'orders:read',
  '--scope',
  'orders:write',
  '--audience',
  API,
];

describe('jwks clients create', () => {
  it('prints the secret once and stores only its hash, with the operator as changedBy', async () => {
    const r = await jwks([...create, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = json<Record<string, unknown>>(r);
    expect(out).toMatchObject({
      client_id: 'svc',
      status: 'active',
      scopes: ['orders:read', 'orders:write'],
      audiences: [API],
      token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post'],
      changed_by: 'cli:tester',
      token_endpoint: 'http://127.0.0.1:0/oauth2/token',
    });
    const secret = String(out.client_secret);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await clients.get('svc');
    expect(await verifySecretHash(secret, String(stored?.secretHash))).toBe(true);
    expect(stored?.changedBy).toBe('cli:tester');
    expect(clients.seen.join('\n')).not.toContain(secret);
    expect(JSON.stringify(out)).not.toContain('$scrypt$');
  });

  it('prints the secret in the human output with the warning that it is shown only now', async () => {
    const r = await jwks(create);
    expect(r.code, r.stderr).toBe(0);
    const secret = /^client_secret: (\S+)$/m.exec(r.stdout)?.[1];
    expect(await verifySecretHash(String(secret), String((await clients.get('svc'))?.secretHash))).toBe(true);
    expect(r.stdout).toMatch(/shown only now/);
  });

  it('registers public keys for private_key_jwt without a secret unless --with-secret', async () => {
    const keysOnly = await jwks([
      'clients',
      'create',
      'jwt-svc',
      '--scope',
      's',
      '--audience',
      API,
      '--jwks-file',
      publicJwksFile,
      '--json',
    ]);
    expect(keysOnly.code, keysOnly.stderr).toBe(0);
    const out = json<Record<string, unknown>>(keysOnly);
    expect(out.client_secret).toBeUndefined();
    expect(out.token_endpoint_auth_methods).toEqual(['private_key_jwt']);
    expect((await clients.get('jwt-svc'))?.jwks?.keys[0]?.kid).toBe('k1');

    const both = await jwks([
      'clients',
      'create',
      'jwt-both',
      '--scope',
      's',
      '--audience',
      API,
      '--jwks-file',
      publicJwksFile,
      '--with-secret',
      '--json',
    ]);
    expect(both.code, both.stderr).toBe(0);
    expect(json(both).client_secret).toEqual(expect.any(String));
    expect(json(both).token_endpoint_auth_methods).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]);
  });

  it('accepts --with-secret on a client without keys, which gets a secret anyway', async () => {
    const r = await jwks([...create, '--with-secret', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const secret = String(json(r).client_secret);
    expect(await verifySecretHash(secret, String((await clients.get('svc'))?.secretHash))).toBe(true);
  });

  it('accepts a --jwks-uri on https', async () => {
    const r = await jwks([
      'clients',
      'create',
      'uri-svc',
      '--scope',
      's',
      '--audience',
      API,
      '--jwks-uri',
      'https://svc.example/jwks.json',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({
      jwks_uri: 'https://svc.example/jwks.json',
      token_endpoint_auth_methods: ['private_key_jwt'],
    });
  });

  it('refuses a private key in --jwks-file with exit 1 and never prints its private member', async () => {
    const r = await jwks([
      'clients',
      'create',
      'leaky',
      '--scope',
      's',
      '--audience',
      API,
      '--jwks-file',
      privateJwkFile,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    expect(r.stdout + r.stderr).not.toContain(privateD);
    expect(await clients.get('leaky')).toBeUndefined();
  });

  it.each([
    ['no --scope', ['clients', 'create', 'svc', '--audience', API]],
    ['no --audience', ['clients', 'create', 'svc', '--scope', 's']],
    [
      'both --jwks-file and --jwks-uri',
      [...create, '--jwks-file', 'x.json', '--jwks-uri', 'https://svc.example/j'],
    ],
    ['an unreadable --jwks-file', [...create, '--jwks-file', join(dir, 'missing.json')]],
    ['no client id', ['clients', 'create', '--scope', 's', '--audience', API]],
  ])('exits 2 without contacting the stack when %s', async (_, argv) => {
    const r = await jwks([...argv, '--json']);
    expect(r.code).toBe(2);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    expect(stack.loads).toEqual([]);
  });

  it('exits 1 with INVALID_ARGUMENT for an id or scope the client rules refuse', async () => {
    for (const argv of [
      ['clients', 'create', 'has#hash', '--scope', 's', '--audience', API],
      ['clients', 'create', 'svc', '--scope', 'bad"scope', '--audience', API],
      [
        'clients',
        'create',
        'svc',
        '--scope',
        's',
        '--audience',
        API,
        '--jwks-uri',
        'http://svc.example/jwks',
      ],
    ]) {
      const r = await jwks([...argv, '--json']);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    }
    expect(await clients.list()).toEqual([]);
  });

  it('exits 1 with CONFLICT when the client id is taken, and keeps the first client', async () => {
    await jwks(create);
    const before = await clients.get('svc');
    const r = await jwks([...create, '--json']);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('CONFLICT');
    expect(await clients.get('svc')).toEqual(before);
  });

  it('exits 1 with MISSING_CONFIG when the stack does not expose its clients', async () => {
    const r = await jwks([...create, '--json'], { clients: undefined });
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('MISSING_CONFIG');
  });
});

describe('jwks clients list', () => {
  it('lists every client sorted by id without any hash or secret', async () => {
    const secrets = [];
    for (const id of ['zeta', 'alpha']) {
      const r = await jwks(['clients', 'create', id, '--scope', 's', '--audience', API, '--json']);
      secrets.push(String(json(r).client_secret));
    }
    const r = await jwks(['clients', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { clients: listed } = json<{ clients: Array<Record<string, unknown>> }>(r);
    expect(listed.map((c) => c.client_id)).toEqual(['alpha', 'zeta']);
    const hashes = (await clients.list()).map((c) => String(c.secretHash));
    for (const hidden of [...secrets, ...hashes, '$scrypt$', 'secretHash']) {
      expect(r.stdout).not.toContain(hidden);
    }
    const human = await jwks(['clients', 'list']);
    expect(human.stdout).toMatch(/^CLIENT ID/);
    expect(human.stdout).toContain('alpha');
    for (const hidden of [...secrets, ...hashes]) expect(human.stdout).not.toContain(hidden);
  });

  it('says so when there are no clients', async () => {
    const r = await jwks(['clients', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('no clients');
  });
});

describe('jwks clients disable', () => {
  it('disables the client and records who and why', async () => {
    await jwks(create);
    stack.now += 60_000;
    const r = await jwks(['clients', 'disable', 'svc', '--reason', 'decommissioned', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({
      client_id: 'svc',
      status: 'disabled',
      changed_by: 'cli:tester',
      reason: 'decommissioned',
    });
    expect(await clients.get('svc')).toMatchObject({
      status: 'disabled',
      updatedAt: stack.now,
      changedBy: 'cli:tester',
    });
  });

  it('exits 1 with the not-found code for an unknown client', async () => {
    const r = await jwks(['clients', 'disable', 'ghost', '--json']);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    expect(r.stderr).toContain('ghost');
  });
});

describe('jwks clients command group', () => {
  it('names its subcommands and exits 2 when none is given', async () => {
    const r = await jwks(['clients']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('create|list|disable');
  });

  it('lists the subcommands in the tool help and has a help of its own per subcommand', async () => {
    const all = await jwks(['--help']);
    for (const name of ['clients create', 'clients list', 'clients disable'])
      expect(all.stdout).toContain(name);
    const help = await jwks(['clients', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: jwks clients create <client_id>');
    expect(help.stdout).toContain('--jwks-file');
    expect((await jwks(['help', 'clients', 'disable'])).stdout).toContain('--reason');
  });
});
