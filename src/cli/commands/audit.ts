/**
 * `jwks audit [--kid <kid>] [--since <ISO date | duration>] [--verify]` (design §6): the audit trail
 * as an operator reads it — every key change with who made it and why — and, with `--verify`, a check
 * of every per-key hash chain that reports the first break (exit 1, AUDIT_CHAIN_BROKEN).
 *
 * `--verify` always reads whole chains: a chain cut by `--since` would start mid-way and look broken,
 * so the two flags are refused together. Format and chain rules: docs/events.md.
 */
import { STACK_OUTPUTS } from '../../constants.ts';
import type { AuditRecord } from '../../core/audit.ts';
import { parseDuration } from '../../core/duration.ts';
import { type ErrorCode, KeyNotFoundError } from '../../errors.ts';
import type { AuditBreak, AuditVerification } from '../../events/audit-chain.ts';
import type { AuditEntry } from '../../events/audit-log.ts';
import type { ObjectStore } from '../../ports.ts';
import { boolFlag, type Command, stringFlag, table, type Values } from '../command.ts';
import type { CliContext } from '../context.ts';
import { StackNotFoundError } from '../errors.ts';
import { EXIT, UsageError } from '../output.ts';

/** A context that knows the stack's audit bucket (local-context.ts has it). */
export interface AuditStoreContext {
  readonly auditStore: ObjectStore;
}

/** The deployed stack's output naming the audit bucket. */
export const AUDIT_BUCKET_OUTPUT = STACK_OUTPUTS.AUDIT_BUCKET_NAME;

const CHAIN_BROKEN: ErrorCode = 'AUDIT_CHAIN_BROKEN';

/**
 * The audit bucket of the target stack. A context that names it is used; a deployed context that does
 * not is completed from the stack's `AuditBucketName` output with the operator's credentials (one more
 * DescribeStacks; drop this once deployed-context.ts builds `auditStore` itself).
 */
async function openAuditStore(
  ctx: CliContext,
  values: Values,
): Promise<{ store: ObjectStore; close(): void }> {
  const own = (ctx as CliContext & Partial<AuditStoreContext>).auditStore;
  if (own) return { store: own, close() {} };
  const stackName = stringFlag(values, 'stack');
  if (stackName === undefined) throw new StackNotFoundError('the stack does not name an audit bucket');
  const [{ describeOutputs }, { createS3Client }, { S3ObjectStore }] = await Promise.all([
    import('../deployed-context.ts'),
    import('../../adapters/aws/clients.ts'),
    import('../../adapters/aws/s3.ts'),
  ]);
  const bucket = (await describeOutputs(stackName, process.env)).get(AUDIT_BUCKET_OUTPUT)?.trim();
  if (!bucket) throw new StackNotFoundError(`stack ${stackName} has no output ${AUDIT_BUCKET_OUTPUT}`);
  const client = createS3Client(process.env);
  return { store: new S3ObjectStore({ client, bucket }), close: () => client.destroy() };
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `--since`: an ISO date/time, or a duration back from now (`2h`, `7d`). */
export function parseSince(value: string, now: number): number {
  const v = value.trim();
  if (ISO_DATE.test(v)) {
    const at = Date.parse(v);
    if (Number.isFinite(at)) return at;
  }
  try {
    return now - parseDuration(v);
  } catch {
    throw new UsageError(
      `--since ${JSON.stringify(value)} is neither an ISO date nor a duration like 24h or 7d`,
    );
  }
}

/** One listed record: the stored record plus where it is. */
export type ListedRecord = AuditRecord & { readonly objectKey: string };

const statusChange = (r: AuditRecord): string => {
  const before = r.oldImage?.status;
  const after = r.newImage?.status;
  return before === after ? (after ?? '-') : `${before ?? '-'} -> ${after ?? '-'}`;
};

function humanList(records: readonly ListedRecord[], unreadable: number): string {
  if (records.length === 0 && unreadable === 0) return 'no audit records';
  const rows = records.map((r) => [
    r.approximateCreationTime,
    r.kid ?? `(keyRef ${r.keyRef})`,
    r.event?.type ?? '-',
    statusChange(r),
    r.changedBy,
    r.reason,
  ]);
  return table([['TIME', 'KID', 'EVENT', 'STATUS', 'CHANGED BY', 'REASON'], ...rows]);
}

function humanVerification(v: AuditVerification): string {
  if (v.ok) return `audit trail intact: ${v.records} records in ${v.chains} chains`;
  const b = v.firstBreak as AuditBreak;
  return `audit chain BROKEN [${CHAIN_BROKEN}]: ${b.kind} at ${b.objectKey}: ${b.detail}`;
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'the audit trail of key changes (who, what, when, why); --verify checks every hash chain',
  options: { kid: { type: 'string' }, since: { type: 'string' }, verify: { type: 'boolean' } },
  positionals: [],
  help: [
    "--kid <kid>         only this key's records (its whole chain, from before it had a kid)",
    '--since <when>      only records from an ISO date (2030-01-31, 2030-01-31T12:00Z) or a duration ago (24h, 7d)',
    '--verify            check every chain and report the first break (exit 1: AUDIT_CHAIN_BROKEN)',
  ],
  async run({ values, out, context }) {
    const kid = stringFlag(values, 'kid')?.trim();
    if (kid === '') throw new UsageError('--kid needs a kid');
    const sinceFlag = stringFlag(values, 'since');
    const verify = boolFlag(values, 'verify');
    if (verify && sinceFlag !== undefined) {
      throw new UsageError('--verify checks whole chains; --since would cut them: give one of the two');
    }
    const ctx = await context();
    const since = sinceFlag === undefined ? undefined : parseSince(sinceFlag, ctx.now());
    const audit = await openAuditStore(ctx, values);
    const [{ readAudit }, { verifyAuditChain }] = await Promise.all([
      import('../../events/audit-log.ts'),
      import('../../events/audit-chain.ts'),
    ]);
    let entries: AuditEntry[];
    try {
      entries = await readAudit(audit.store, {
        ...(kid !== undefined && { kid }),
        ...(since !== undefined && { since }),
      });
    } finally {
      audit.close();
    }
    if (kid !== undefined && entries.length === 0) {
      throw new KeyNotFoundError(`no audit records for kid ${kid}`);
    }

    if (verify) {
      const verification = verifyAuditChain(entries);
      if (verification.ok) {
        out.result(verification, humanVerification(verification));
        return EXIT.OK;
      }
      out.result({ ...verification, code: CHAIN_BROKEN }, humanVerification(verification));
      return EXIT.FAILURE;
    }

    // Chronological across keys. Stream times are coarse (whole seconds; DynamoDB Local: minutes), so
    // ties go by registryVersion, the global commit order, which never decreases along one key's
    // records (none: written before the registry recorded it, so earlier). The sort is stable, so one
    // key's records keep their stream order.
    const records = entries
      .flatMap((e): ListedRecord[] => (e.record ? [{ ...e.record, objectKey: e.key }] : []))
      .sort(
        (a, b) =>
          Date.parse(a.approximateCreationTime) - Date.parse(b.approximateCreationTime) ||
          (a.registryVersion ?? 0) - (b.registryVersion ?? 0),
      );
    const unreadable = entries.filter((e) => !e.record).map((e) => e.key);
    if (unreadable.length > 0) {
      out.warn(`${unreadable.length} objects under audit/ are not audit records: run jwks audit --verify`);
    }
    out.result({ records, unreadable }, humanList(records, unreadable.length));
    return EXIT.OK;
  },
};
