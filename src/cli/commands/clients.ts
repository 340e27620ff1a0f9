/**
 * `jwks clients create|list|disable`: the token endpoint's OAuth clients (docs/tokens.md §1).
 *
 * - `create <client_id> --scope … --audience … [--jwks-file <path> | --jwks-uri <url>] [--with-secret]`
 *   prints the generated secret ONCE (only its scrypt hash is stored); a client registered with public
 *   keys authenticates with `private_key_jwt` and gets no secret unless `--with-secret`.
 * - `list` shows every client without its hash (the view below names each member it prints, so a new
 *   stored member is never printed by accident).
 * - `disable <client_id>`: its token requests fail within `signerCacheTtl` (the endpoint's client cache).
 *
 * `--json` documents use the snake_case names of OAuth client metadata (RFC 7591 §2): `client_id`,
 * `client_secret`, `jwks_uri`, `jwks`, plus `scopes`/`audiences` as lists.
 */
import { PATHS } from '../../constants.ts';
import type { ClientSummary } from '../../token/clients-admin.ts';
import type { ClientJwks, ClientStore } from '../../token/types.ts';
import { boolFlag, type Command, readJsonFile, stringFlag, table, type Values } from '../command.ts';
import type { CliContext } from '../context.ts';
import { StackNotFoundError } from '../errors.ts';
import { EXIT, iso, UsageError } from '../output.ts';

/** The client administration (secrets, hashing, validation): loaded only by these commands. */
const admin = () => import('../../token/clients-admin.ts');

/** A client as printed: never a hash, never a secret (create adds the secret itself, once). */
export interface ClientView {
  readonly client_id: string;
  readonly status: string;
  readonly scopes: readonly string[];
  readonly audiences: readonly string[];
  readonly token_endpoint_auth_methods: readonly string[];
  readonly jwks_uri?: string;
  readonly jwks?: ClientJwks;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly changed_by: string;
  readonly reason: string;
}

export function clientView(c: ClientSummary): ClientView {
  return {
    client_id: c.clientId,
    status: c.status,
    scopes: [...c.scopes],
    audiences: [...c.audiences],
    token_endpoint_auth_methods: [...c.authMethods],
    ...(c.jwksUri === undefined ? {} : { jwks_uri: c.jwksUri }),
    ...(c.jwks === undefined ? {} : { jwks: c.jwks }),
    created_at: iso(c.createdAt),
    ...(c.updatedAt === undefined ? {} : { updated_at: iso(c.updatedAt) }),
    changed_by: c.changedBy,
    reason: c.reason,
  };
}

function clientsOf(ctx: CliContext): ClientStore {
  if (!ctx.clients) throw new StackNotFoundError('this stack does not expose its OAuth clients');
  return ctx.clients;
}

/** A repeatable string flag's values (parseArgs `multiple: true` gives an array). */
function listFlag(values: Values, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  const all = Array.isArray(v) ? v : [v];
  if (all.some((x) => typeof x !== 'string')) throw new UsageError(`--${name} takes a value`);
  return (all as string[]).map((s) => s.trim());
}

/** `--jwks-file`: a JWK Set, or one JWK (wrapped). Its rules are checked by createClient. */
function readJwksFile(path: string): ClientJwks {
  const parsed = readJsonFile('--jwks-file', path);
  const isSingleKey = typeof parsed === 'object' && parsed !== null && 'kty' in parsed && !('keys' in parsed);
  return (isSingleKey ? { keys: [parsed] } : parsed) as ClientJwks;
}

const REASON_HELP = '--reason <text>     recorded with the change';

export const clientsCreateCommand: Command = {
  name: 'clients create',
  summary: 'register an OAuth client for the token endpoint (prints its secret once)',
  options: {
    scope: { type: 'string', multiple: true },
    audience: { type: 'string', multiple: true },
    'jwks-file': { type: 'string' },
    'jwks-uri': { type: 'string' },
    'with-secret': { type: 'boolean' },
    reason: { type: 'string' },
  },
  positionals: ['client_id'],
  help: [
    '--scope <scope>     a scope the client may request (repeatable, at least one)',
    '--audience <aud>    an audience (resource) it may get tokens for (repeatable, at least one; the first is the default)',
    '--jwks-file <path>  its public keys (JWK Set or one JWK) for private_key_jwt',
    '--jwks-uri <url>    or where to fetch them (https)',
    '--with-secret       also generate a secret for a client with keys (one without keys always gets one)',
    `${REASON_HELP} (default "operator create")`,
  ],
  async run({ values, positionals, out, context }) {
    const clientId = positionals[0] as string;
    const scopes = listFlag(values, 'scope');
    const audiences = listFlag(values, 'audience');
    if (scopes.length === 0) throw new UsageError('give at least one --scope');
    if (audiences.length === 0) throw new UsageError('give at least one --audience');
    const jwksFile = stringFlag(values, 'jwks-file');
    const jwksUri = stringFlag(values, 'jwks-uri');
    if (jwksFile !== undefined && jwksUri !== undefined) {
      throw new UsageError('--jwks-file and --jwks-uri are alternatives: give one of them');
    }
    // Harmless without keys (such a client gets a secret anyway), so scripts may always pass it.
    const withSecret = boolFlag(values, 'with-secret');
    const jwks = jwksFile === undefined ? undefined : readJwksFile(jwksFile);
    const reason = stringFlag(values, 'reason')?.trim() || 'operator create';

    const ctx = await context();
    const change = { changedBy: await ctx.changedBy(), reason };
    const { createClient, summarize } = await admin();
    const { client, secret } = await createClient(
      clientsOf(ctx),
      {
        clientId,
        scopes,
        audiences,
        ...(jwks === undefined ? {} : { jwks }),
        ...(jwksUri === undefined ? {} : { jwksUri }),
        ...(withSecret ? { withSecret } : {}),
      },
      change,
      { clock: ctx.now, allowLoopbackJwksUri: ctx.allowLoopbackJwksUri === true },
    );
    const tokenEndpoint = new URL(PATHS.TOKEN, ctx.jwksUrl).href;
    const view = clientView(summarize(client));
    const lines = [
      `created client ${clientId} (${view.token_endpoint_auth_methods.join(', ')})`,
      `token endpoint: ${tokenEndpoint}`,
    ];
    if (secret !== undefined) {
      lines.push(
        `client_secret: ${secret}`,
        'the secret is shown only now: store it, it cannot be retrieved',
      );
    }
    out.result(
      { ...view, ...(secret === undefined ? {} : { client_secret: secret }), token_endpoint: tokenEndpoint },
      lines.join('\n'),
    );
    return EXIT.OK;
  },
};

function humanList(views: readonly ClientView[]): string {
  if (views.length === 0) return 'no clients';
  const rows = views.map((v) => [
    v.client_id,
    v.status,
    v.token_endpoint_auth_methods.join(','),
    v.scopes.join(' '),
    v.audiences.join(' '),
    v.updated_at ?? v.created_at ?? '-',
    v.changed_by,
  ]);
  return table([['CLIENT ID', 'STATUS', 'AUTH', 'SCOPES', 'AUDIENCES', 'CHANGED', 'CHANGED BY'], ...rows]);
}

export const clientsListCommand: Command = {
  name: 'clients list',
  summary: 'the OAuth clients, their scopes, audiences and status (never a secret or its hash)',
  options: {},
  positionals: [],
  help: [],
  async run({ out, context }) {
    const ctx = await context();
    const { listClients } = await admin();
    const views = (await listClients(clientsOf(ctx))).map(clientView);
    out.result({ clients: views }, humanList(views));
    return EXIT.OK;
  },
};

export const clientsDisableCommand: Command = {
  name: 'clients disable',
  summary: 'disable an OAuth client: its token requests fail within signerCacheTtl',
  options: { reason: { type: 'string' } },
  positionals: ['client_id'],
  help: [`${REASON_HELP} (default "operator disable")`],
  async run({ values, positionals, out, context }) {
    const clientId = positionals[0] as string;
    const reason = stringFlag(values, 'reason')?.trim() || 'operator disable';
    const ctx = await context();
    const change = { changedBy: await ctx.changedBy(), reason };
    const { disableClient } = await admin();
    const view = clientView(await disableClient(clientsOf(ctx), clientId, change));
    out.result(view, `disabled ${clientId}: its token requests fail within signerCacheTtl`);
    return EXIT.OK;
  },
};

export const CLIENTS_COMMANDS: readonly Command[] = [
  clientsCreateCommand,
  clientsListCommand,
  clientsDisableCommand,
];
