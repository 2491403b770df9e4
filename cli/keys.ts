import { generateApiKey, generateKeyId } from "../src/apps/keys.ts";
import {
  type KeyRecord,
  type KeyType,
  keyRecordSchema,
  keyTypeSchema,
  kvKeys,
} from "../src/apps/records.ts";
import { sha256Hex } from "../src/crypto.ts";
import { loadApp } from "./apps.ts";
import { type Deps, timestamp } from "./deps.ts";
import { CommandError } from "./errors.ts";
import { listNames, putInOrder } from "./kv.ts";
import { appIdSchema, check, parseStored } from "./parsing.ts";

const keyIdSchema = keyRecordSchema.shape.id;
const digestSchema = /^[0-9a-f]{64}$/;

/** What may be shown about a key after its creation: no key material, no digest. */
export type KeySummary = Pick<KeyRecord, "id" | "type" | "label" | "createdAt" | "revokedAt">;

export type CreatedKey = Pick<KeyRecord, "id" | "appId" | "type" | "label" | "createdAt"> & {
  /** The only time the key exists outside the caller's hands. */
  key: string;
};

export type CreateKeyInput = { appId: string; type: string; label?: string };

export async function createKey(deps: Deps, input: CreateKeyInput): Promise<CreatedKey> {
  const appId = check(appIdSchema, input.appId, "--app");
  const type: KeyType = check(keyTypeSchema, input.type, "--type");
  const label = input.label ? check(keyRecordSchema.shape.label, input.label, "--label") : null;
  const { APPS } = await deps.bindings();
  const app = await loadApp(APPS, appId);
  if (app.status !== "active") throw new CommandError(`app ${appId} is disabled`);

  const key = generateApiKey(type);
  const digest = await sha256Hex(key);
  const record = keyRecordSchema.parse({
    id: generateKeyId(),
    appId,
    type,
    label,
    createdAt: timestamp(deps),
    revokedAt: null,
  });
  // The indexes come before the record that makes the key verify: should the writes stop
  // half-way, no key can work that `key list` and `key revoke` cannot find.
  await putInOrder(APPS, [
    [kvKeys.keyById(record.id), digest],
    [kvKeys.appKey(appId, record.id), digest],
    [kvKeys.apiKey(digest), JSON.stringify(record)],
  ]);
  return { id: record.id, appId, type, label, createdAt: record.createdAt, key };
}

export async function listKeys(
  deps: Deps,
  appIdInput: string,
): Promise<{ appId: string; keys: KeySummary[] }> {
  const appId = check(appIdSchema, appIdInput, "--app");
  const { APPS } = await deps.bindings();
  const [rawApp, indexNames] = await Promise.all([
    APPS.get(kvKeys.app(appId)),
    listNames(APPS, kvKeys.appKeyPrefix(appId)),
  ]);
  if (rawApp === null) throw new CommandError(`app ${appId} not found`);

  const digests = await Promise.all(indexNames.map((name) => APPS.get(name)));
  const wanted = digests.filter(
    (digest): digest is string => !!digest && digestSchema.test(digest),
  );
  const rawRecords = await Promise.all(wanted.map((digest) => APPS.get(kvKeys.apiKey(digest))));
  const keys: KeySummary[] = [];
  for (const raw of rawRecords) {
    // An index without its record is a creation that stopped half-way: no such key works.
    if (raw === null) continue;
    const record = parseStored(keyRecordSchema, raw, `a key record of app ${appId}`);
    if (record.appId !== appId) continue;
    keys.push(summarize(record));
  }
  keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return { appId, keys };
}

export type RevokedKey = KeySummary & { appId: string; alreadyRevoked: boolean };

/** Idempotent: revoking a revoked key keeps the first revokedAt. */
export async function revokeKey(deps: Deps, keyIdInput: string): Promise<RevokedKey> {
  const keyId = check(keyIdSchema, keyIdInput, "key id");
  const { APPS } = await deps.bindings();
  const digest = await APPS.get(kvKeys.keyById(keyId));
  if (digest === null || !digestSchema.test(digest)) {
    throw new CommandError(`key ${keyId} not found`);
  }
  const raw = await APPS.get(kvKeys.apiKey(digest));
  if (raw === null) throw new CommandError(`key ${keyId} not found`);
  const record = parseStored(keyRecordSchema, raw, `the record of key ${keyId}`);
  if (record.id !== keyId) throw new CommandError(`the index of key ${keyId} points elsewhere`);

  if (record.revokedAt !== null) {
    return { ...summarize(record), appId: record.appId, alreadyRevoked: true };
  }
  const revoked = keyRecordSchema.parse({ ...record, revokedAt: timestamp(deps) });
  await APPS.put(kvKeys.apiKey(digest), JSON.stringify(revoked));
  return { ...summarize(revoked), appId: revoked.appId, alreadyRevoked: false };
}

function summarize(record: KeyRecord): KeySummary {
  return {
    id: record.id,
    type: record.type,
    label: record.label,
    createdAt: record.createdAt,
    revokedAt: record.revokedAt,
  };
}
