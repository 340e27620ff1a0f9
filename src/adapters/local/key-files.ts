/**
 * The local key vault's files: one JSON file per key in a directory (0700), each file 0600 and written
 * atomically (temp file + rename), holding the PKCS#8 PEM private key and the metadata KMS would keep.
 * The private key is read and written here and nowhere else; nothing here logs.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlgorithm } from '../../core/algorithms.ts';
import type { Algorithm } from '../../core/types.ts';
import { MalformedRecordError } from '../../errors.ts';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** What a key file holds besides the private key. */
export interface KeyMeta {
  readonly format: 1;
  readonly vaultKeyId: string;
  readonly keyRef: string;
  readonly deploymentName: string;
  readonly alg: Algorithm;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly disabledAt?: number;
  readonly deletionDate?: number;
  /** Created as a multi-Region key (ADR 0008): only such a key may be copied to other regions. */
  readonly multiRegion?: true;
}

export interface KeyFile extends KeyMeta {
  readonly privateKeyPem: string;
}

const ID = /^local:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The file of `vaultKeyId` in `dir`; undefined for an id this vault never makes. */
export function keyPath(dir: string, vaultKeyId: string): string | undefined {
  const uuid = ID.exec(vaultKeyId)?.[1];
  return uuid === undefined ? undefined : join(dir, `${uuid}.json`);
}

export function parseKeyFile(text: string, path: string): KeyFile {
  const file = JSON.parse(text) as Partial<KeyFile>;
  if (
    file.format !== 1 ||
    typeof file.vaultKeyId !== 'string' ||
    typeof file.privateKeyPem !== 'string' ||
    !isAlgorithm(file.alg) ||
    !['Enabled', 'Disabled', 'PendingDeletion'].includes(file.state as string)
  ) {
    throw new MalformedRecordError(`unreadable key file ${path}`);
  }
  return file as KeyFile;
}

/** The key file at `path`, or undefined when there is none. */
export async function readKeyFile(path: string): Promise<KeyFile | undefined> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return text === undefined ? undefined : parseKeyFile(text, path);
}

/** Create `dir` 0700 (and make an existing one 0700). */
export async function ensureKeyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Write the key's file in `dir` atomically, 0600 (the caller has made `dir` with ensureKeyDir). */
export async function writeKeyFile(dir: string, file: KeyFile): Promise<void> {
  const path = keyPath(dir, file.vaultKeyId) as string;
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
