/**
 * Runs the deployed functions of a synthesized app on one machine, for the IAM contract: each Lambda
 * entry (src/handlers/<name>.ts) is cold-started with exactly the environment its template gives it
 * (resolved by test/support/template-iam.ts) in its own region, and every AWS call it makes is recorded
 * as that function's (test/support/aws-calls.ts). DynamoDB goes to DynamoDB Local (one table stands for
 * the global table in every region), S3 to s3rver, KMS to FakeKmsRegions; CloudFront, SNS and Secrets
 * Manager get a plain answer, and the tagging API answers from the KMS stand-in's keys.
 */
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DeleteTableCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import * as kmsCommands from '@aws-sdk/client-kms';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { vi } from 'vitest';
import { createRegistryTable } from '../../src/adapters/aws/registry-table.ts';
import { ENV, OBJECT_KEYS, TABLE } from '../../src/constants.ts';
import { type Answer, CallRecorder, type RecordedCall } from '../support/aws-calls.ts';
import { arnOf, type FakeKmsRegions } from '../support/fake-kms-regions.ts';
import { S3RVER_CREDENTIALS } from '../support/s3rver.ts';
import type { DeployedApp, DeployedFunction } from '../support/template-iam.ts';

export const HANDLERS = {
  rotate: 'reconcile the key registry',
  publish: 'render and publish',
  token: 'OAuth 2.0 client credentials',
  events: 'audit every key change',
  canary: 'verifier canary',
} as const;
export type HandlerKind = keyof typeof HANDLERS;

export const kindOf = (fn: DeployedFunction): HandlerKind => {
  const kind = (Object.keys(HANDLERS) as HandlerKind[]).find((k) => fn.description.includes(HANDLERS[k]));
  if (!kind) throw new Error(`no handler for ${fn.description}`);
  return kind;
};

/** `rotate@us-east-1`: how calls are attributed. */
export const callerOf = (fn: DeployedFunction) => `${kindOf(fn)}@${fn.region}`;

// biome-ignore lint/suspicious/noExplicitAny: each entry exports its own handler type
type Handler = (event?: any) => Promise<any>;

export interface Servers {
  readonly dynamodb: string;
  readonly s3: string;
}

/** The KMS command class of an operation, to hand a recorded call to the stand-in's client. */
const kmsCommand = (operation: string) =>
  (kmsCommands as unknown as Record<string, new (input: unknown) => object>)[`${operation}Command`];

export class DeploymentRunner {
  readonly recorder = new CallRecorder();
  readonly functions: DeployedFunction[];
  readonly #handlers = new Map<string, Handler>();
  /** The harness's own clients (their calls are no function's). */
  readonly #dynamodb: DynamoDBClient;
  readonly #s3: S3Client;
  #sequence = 0;

  constructor(
    readonly app: DeployedApp,
    readonly kms: FakeKmsRegions,
    readonly servers: Servers,
  ) {
    this.functions = app.functions();
    const local = { region: 'us-east-1', credentials: S3RVER_CREDENTIALS };
    this.#dynamodb = new DynamoDBClient({ ...local, endpoint: servers.dynamodb });
    this.#s3 = new S3Client({ ...local, endpoint: servers.s3, forcePathStyle: true });
  }

  /** Answers for the services without a local server; DynamoDB and S3 go to theirs. */
  readonly #answer: Answer = async (call: RecordedCall) => {
    switch (call.service) {
      case 'KMS': {
        const Command = kmsCommand(call.operation);
        if (!Command) throw new Error(`no KMS command ${call.operation}`);
        const out: unknown = await this.kms.client(call.region).send(new Command(call.input) as never);
        return { ...(out as Record<string, unknown>) };
      }
      case 'ResourceGroupsTaggingAPI': {
        const filters = (call.input.TagFilters ?? []) as { Key: string; Values: string[] }[];
        const list = [...this.kms.keys.values()]
          .filter((k) => k.region === call.region)
          .filter((k) =>
            filters.every((f) =>
              k.tags.some((t) => t.TagKey === f.Key && f.Values.includes(String(t.TagValue))),
            ),
          )
          .map((k) => ({
            ResourceARN: arnOf(k.region, k.keyId),
            Tags: k.tags.map((t) => ({ Key: t.TagKey, Value: t.TagValue })),
          }));
        return { ResourceTagMappingList: list, PaginationToken: '' };
      }
      case 'CloudFront':
        return { Invalidation: { Id: `I${++this.#sequence}`, Status: 'InProgress' } };
      case 'SNS':
        return { MessageId: `m-${++this.#sequence}` };
      case 'SecretsManager':
        return { SecretString: '{}' };
      default:
        return undefined;
    }
  };

  /** The functions of a kind, in template order. */
  all(kind: HandlerKind): DeployedFunction[] {
    return this.functions.filter((f) => kindOf(f) === kind);
  }

  fn(kind: HandlerKind, region: string): DeployedFunction {
    const fn = this.functions.find((f) => kindOf(f) === kind && f.region === region);
    if (!fn) throw new Error(`no ${kind} function in ${region}`);
    return fn;
  }

  /** A fresh registry table (every function names the same one) and every bucket a function names. */
  async prepare(): Promise<void> {
    this.recorder.install(
      [
        DynamoDBClient,
        S3Client,
        kmsCommands.KMSClient,
        CloudFrontClient,
        SNSClient,
        SecretsManagerClient,
        ResourceGroupsTaggingAPIClient,
      ],
      this.#answer,
    );
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', this.servers.dynamodb);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', this.servers.s3);
    vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const tables = new Set(this.functions.map((f) => f.environment[ENV.TABLE_NAME]).filter(Boolean));
    for (const table of tables) {
      await this.#dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      await createRegistryTable(this.#dynamodb, table as string);
    }
    const buckets = new Set(
      this.functions.flatMap((f) => [f.environment[ENV.BUCKET_NAME], f.environment[ENV.AUDIT_BUCKET_NAME]]),
    );
    for (const bucket of buckets) {
      if (!bucket) continue;
      await this.#s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
      // Another deployment of the same names may have run before (a newer JWKS would be kept).
      const { Contents = [] } = await this.#s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const { Key } of Contents) await this.#s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    }
    vi.stubGlobal('fetch', this.#fetch);
    // One cold start after the other: each reads its environment while its modules load.
    for (const fn of this.functions) await this.handler(fn);
  }

  /** Undo `prepare`: the SDK clients stop recording, the environment and `fetch` are restored. */
  close(): void {
    this.recorder.uninstall();
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  }

  /** The registry table every function names. */
  get tableName(): string {
    return this.functions[0]?.environment[ENV.TABLE_NAME] as string;
  }

  /** A DynamoDB client for the harness's own setup (an operator's, not a function's). */
  get dynamodb(): DynamoDBClient {
    return this.#dynamodb;
  }

  /** The handler of `fn`, cold-started once with its template's environment in its region. */
  async handler(fn: DeployedFunction): Promise<Handler> {
    const known = this.#handlers.get(fn.logicalId + fn.region);
    if (known) return known;
    vi.resetModules();
    for (const name of new Set([...Object.values(ENV), ...Object.keys(fn.environment)])) {
      vi.stubEnv(name, fn.environment[name] ?? '');
    }
    vi.stubEnv(ENV.REGION, fn.region);
    const caller = callerOf(fn);
    const mod = await this.recorder.as(caller, () => import(`../../src/handlers/${kindOf(fn)}.ts`));
    const run: Handler = (event) => this.recorder.as(caller, () => mod.handler(event ?? {}));
    this.#handlers.set(fn.logicalId + fn.region, run);
    return run;
  }

  async invoke(kind: HandlerKind, region: string, event?: unknown): Promise<unknown> {
    return (await this.handler(this.fn(kind, region)))(event);
  }

  /** The registry partition's items as a stream batch (INSERT records with their new images). */
  async streamBatch(): Promise<DynamoDBStreamEvent> {
    const table = this.tableName;
    const { Items = [] } = await this.#dynamodb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE.PARTITION_KEY },
        ExpressionAttributeValues: marshall({ ':pk': TABLE.REGISTRY_PARTITION }),
      }),
    );
    const Records = Items.map(
      (item): DynamoDBRecord => ({
        eventID: `e${++this.#sequence}`,
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        dynamodb: {
          Keys: { pk: item.pk, sk: item.sk } as never,
          NewImage: item as never,
          ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
          SequenceNumber: String(this.#sequence).padStart(21, '0'),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      }),
    );
    return { Records };
  }

  /** Every region's publisher on the registry's current items (what the stream would trigger). */
  async publishEverywhere(): Promise<void> {
    const batch = await this.streamBatch();
    for (const fn of this.all('publish')) await (await this.handler(fn))(batch);
  }

  /**
   * Run `kind` in `region` while the publishers keep publishing (as the stream would), so a run that
   * waits for a publication (the first key, a replica's) sees it.
   */
  async whilePublishing<T>(run: () => Promise<T>): Promise<T> {
    let done = false;
    const result = run().finally(() => {
      done = true;
    });
    const loop = (async () => {
      while (!done) {
        await this.publishEverywhere();
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const [value] = await Promise.all([result, loop]);
    return value;
  }

  /** What the canary fetches over the internet: the documents from the home bucket. */
  readonly #fetch = async (url: string | URL): Promise<Response> => {
    const path = new URL(String(url)).pathname;
    const key = Object.values(OBJECT_KEYS).find((k) => path.endsWith(`/${k}`));
    const bucket = this.functions.find((f) => kindOf(f) === 'publish')?.environment[ENV.BUCKET_NAME];
    if (!key || !bucket) return new Response('not found', { status: 404 });
    const out = await this.recorder.as('internet', () =>
      this.#s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
    );
    const body = await out.Body?.transformToString();
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': out.CacheControl ?? '' },
    });
  };
}
