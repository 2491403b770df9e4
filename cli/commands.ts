import type { z } from "zod";
import { generateApiKey, generateKeyId, sha256Hex } from "../src/apps/keys.ts";
import {
  type AppRecord,
  appRecordSchema,
  type KeyRecord,
  type KeyType,
  keyRecordSchema,
  keyTypeSchema,
  kvKeys,
  returnUrl,
  stripeAccountId,
} from "../src/apps/records.ts";
import type { KvStore } from "./kv.ts";

/**
 * The operator's commands as plain functions over a KvStore: they validate with the worker's
 * own schemas (so nothing is written that the worker would refuse to read), and return plain
 * objects that the entry point prints as text or JSON.
 */

/** Bad input from the operator: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Valid input that cannot be carried out (unknown app, disabled app, …): exit code 1. */
export class CommandError extends Error {
  override name = "CommandError";
}

export type Deps = {
  kv: KvStore;
  /** Injected so that tests can control createdAt/revokedAt. */
  now?: () => Date;
};

const appIdSchema = appRecordSchema.shape.id;
const keyIdSchema = keyRecordSchema.shape.id;
const digestSchema = /^[0-9a-f]{64}$/;

function timestamp(deps: Deps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}

/** Parses with a schema and names the flag in the error. */
function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.output<S>;
  const messages = new Set(result.error.issues.map((issue) => issue.message));
  throw new UsageError(`${what}: ${[...messages].join("; ")}`);
}

/** A stored value read back; `what` names it without the KV key, which may hold a digest. */
function parseStored<S extends z.ZodType>(schema: S, raw: string, what: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new CommandError(`${what} in KV is not JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new CommandError(`${what} in KV does not match its schema`);
  return result.data as z.output<S>;
}

async function loadApp(kv: KvStore, appId: string): Promise<AppRecord> {
  const raw = await kv.get(kvKeys.app(appId));
  if (raw === null) throw new CommandError(`app ${appId} not found`);
  return parseStored(appRecordSchema, raw, `the record of app ${appId}`);
}

// ---- apps -----------------------------------------------------------------------------------

export type CreateAppInput = {
  name: string;
  successUrl?: string;
  cancelUrl?: string;
  stripeAccountTest?: string;
  stripeAccountLive?: string;
  live?: boolean;
};

export async function createApp(deps: Deps, input: CreateAppInput): Promise<AppRecord> {
  const optional = <S extends z.ZodType>(schema: S, value: string | undefined, what: string) =>
    value === undefined ? null : check(schema, value, what);
  const now = timestamp(deps);
  const record = appRecordSchema.parse({
    id: crypto.randomUUID(),
    name: check(appRecordSchema.shape.name, input.name.trim(), "--name"),
    status: "active",
    liveEnabled: input.live ?? false,
    stripeAccountTest: optional(stripeAccountId, input.stripeAccountTest, "--stripe-account-test"),
    stripeAccountLive: optional(stripeAccountId, input.stripeAccountLive, "--stripe-account-live"),
    successUrl: optional(returnUrl, input.successUrl, "--success-url"),
    cancelUrl: optional(returnUrl, input.cancelUrl, "--cancel-url"),
    tokenIssuer: null,
    publicKey: null,
    allowedOrigins: [],
    createdAt: now,
    updatedAt: now,
  });
  await deps.kv.put(kvKeys.app(record.id), JSON.stringify(record));
  return record;
}

export async function showApp(deps: Deps, appId: string): Promise<AppRecord> {
  return loadApp(deps.kv, check(appIdSchema, appId, "app id"));
}

/** Idempotent: an app that is already disabled is returned unchanged. */
export async function disableApp(deps: Deps, appId: string): Promise<AppRecord> {
  const app = await loadApp(deps.kv, check(appIdSchema, appId, "app id"));
  if (app.status === "disabled") return app;
  const updated = appRecordSchema.parse({ ...app, status: "disabled", updatedAt: timestamp(deps) });
  await deps.kv.put(kvKeys.app(app.id), JSON.stringify(updated));
  return updated;
}

// ---- keys -----------------------------------------------------------------------------------

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
  const app = await loadApp(deps.kv, appId);
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
  // The indexes come before the record that makes the key verify: should the write stop
  // half-way, no key can work that `key list` and `key revoke` cannot find.
  await deps.kv.putMany([
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
  const prefix = kvKeys.appKeyPrefix(appId);
  const indexNames = await deps.kv.list(prefix);
  // The app's record rides along with the index reads: one wrangler call fewer.
  const [rawApp, ...digests] = await deps.kv.getMany([kvKeys.app(appId), ...indexNames]);
  if (rawApp === null || rawApp === undefined) throw new CommandError(`app ${appId} not found`);

  const wanted = digests.filter(
    (digest): digest is string => !!digest && digestSchema.test(digest),
  );
  const rawRecords = await deps.kv.getMany(wanted.map((digest) => kvKeys.apiKey(digest)));
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
  const digest = await deps.kv.get(kvKeys.keyById(keyId));
  if (digest === null || !digestSchema.test(digest)) {
    throw new CommandError(`key ${keyId} not found`);
  }
  const raw = await deps.kv.get(kvKeys.apiKey(digest));
  if (raw === null) throw new CommandError(`key ${keyId} not found`);
  const record = parseStored(keyRecordSchema, raw, `the record of key ${keyId}`);
  if (record.id !== keyId) throw new CommandError(`the index of key ${keyId} points elsewhere`);

  if (record.revokedAt !== null) {
    return { ...summarize(record), appId: record.appId, alreadyRevoked: true };
  }
  const revoked = keyRecordSchema.parse({ ...record, revokedAt: timestamp(deps) });
  await deps.kv.put(kvKeys.apiKey(digest), JSON.stringify(revoked));
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
