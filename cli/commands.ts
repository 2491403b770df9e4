import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as z from "zod";
import { generateApiKey, generateKeyId } from "../src/apps/keys.ts";
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
import { sha256Hex } from "../src/crypto.ts";
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
  return setStatus(deps, appId, "disabled");
}

/** Idempotent: an app that is already active is returned unchanged. */
export async function enableApp(deps: Deps, appId: string): Promise<AppRecord> {
  return setStatus(deps, appId, "active");
}

async function setStatus(
  deps: Deps,
  appId: string,
  status: AppRecord["status"],
): Promise<AppRecord> {
  const app = await loadApp(deps.kv, check(appIdSchema, appId, "app id"));
  if (app.status === status) return app;
  const updated = appRecordSchema.parse({ ...app, status, updatedAt: timestamp(deps) });
  await deps.kv.put(kvKeys.app(app.id), JSON.stringify(updated));
  return updated;
}

// ---- app update -----------------------------------------------------------------------------

/** What `app update` may change; an absent field is left as it is. */
export type UpdateAppInput = {
  name?: string;
  successUrl?: string;
  cancelUrl?: string;
  /** An account id, or "none" for the platform's own account. */
  stripeAccountTest?: string;
  stripeAccountLive?: string;
  live?: boolean;
  tokenIssuer?: string;
  /** A file holding the app's RSA public key (PEM, SPKI). */
  publicKeyFile?: string;
  /** Replaces the allowed origins (deduplicated, order kept). */
  origins?: string[];
  clearOrigins?: boolean;
};

export type UpdatedApp = {
  app: AppRecord;
  /** The record fields whose value changed; empty if every value given was already set. */
  changed: (keyof AppRecord)[];
};

/** The `iss` an app's access tokens must carry. */
export const tokenIssuerSchema = z
  .string()
  .min(1, "must not be empty")
  .max(500, "must be at most 500 characters")
  .regex(/^\S+$/, "must not contain whitespace");

/** http is allowed only for these hosts, for local development. */
const LOOPBACK_HOSTS = ["localhost", "127.0.0.1"];

/**
 * A browser origin exactly as a browser sends it in `Origin`: scheme, host and port if not the
 * default, nothing else. Returns an error message, or null if the value is an origin.
 */
export function originProblem(value: string): string | null {
  if (value.includes("*")) return "wildcards are not allowed; list each origin";
  if (!URL.canParse(value)) return "not a URL; an origin looks like https://app.example";
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return "must be an https origin (http only for localhost and 127.0.0.1)";
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.includes(url.hostname)) {
    return "must be an https origin (http only for localhost and 127.0.0.1)";
  }
  if (url.origin === value) return null;
  const afterScheme = value.slice(value.indexOf("//") + 2);
  if (/[/?#\\]/.test(afterScheme)) {
    return `must be an origin only, without path, query, fragment or trailing slash: ${url.origin}`;
  }
  return `must be written exactly as browsers send it: ${url.origin}`;
}

function checkOrigins(values: string[]): string[] {
  const origins: string[] = [];
  for (const value of values) {
    const problem = originProblem(value);
    if (problem) throw new UsageError(`--origin ${value}: ${problem}`);
    if (!origins.includes(value)) origins.push(value);
  }
  return origins;
}

/** Largest PEM file read: an RSA public key of 16384 bits is under 3 KB. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The modulus size below which a key is refused. */
export const MIN_RSA_BITS = 2048;

/**
 * Checks that `text` is one RSA public key of at least 2048 bits in PEM, SPKI form
 * (`-----BEGIN PUBLIC KEY-----`) and returns it normalised (Node's own SPKI PEM export).
 * `what` names the source in errors.
 */
export function parsePublicKeyPem(text: string, what = "--public-key-file"): string {
  if (text.includes("PRIVATE KEY")) {
    throw new UsageError(
      `${what}: this is a private key. Never hand the service a private key: whoever holds ` +
        "it can sign tokens for the app, and it belongs only with the token issuer. Give the " +
        "service the public half: `openssl pkey -in private.pem -pubout -out public.pem`.",
    );
  }
  if (text.includes("BEGIN RSA PUBLIC KEY")) {
    throw new UsageError(
      `${what}: this is an RSA public key in PKCS#1 form (BEGIN RSA PUBLIC KEY); the service ` +
        "takes SPKI (BEGIN PUBLIC KEY). Convert it with " +
        "`openssl rsa -pubin -in k.pem -RSAPublicKey_in -pubout -out public.pem`.",
    );
  }
  if (text.includes("BEGIN CERTIFICATE")) {
    throw new UsageError(
      `${what}: this is a certificate, not a public key. Extract its key with ` +
        "`openssl x509 -in cert.pem -pubkey -noout > public.pem`.",
    );
  }
  if (/^\s*ssh-rsa\s/.test(text)) {
    throw new UsageError(
      `${what}: this is an OpenSSH public key; the service takes PEM (SPKI). Convert it with ` +
        "`ssh-keygen -e -m PKCS8 -f key.pub > public.pem`.",
    );
  }
  const begins = text.match(/-----BEGIN [^-]*-----/g) ?? [];
  if (begins.length === 0 || !text.includes("-----BEGIN PUBLIC KEY-----")) {
    throw new UsageError(
      `${what}: not a PEM public key; expected one block starting with -----BEGIN PUBLIC KEY-----`,
    );
  }
  if (begins.length > 1) {
    throw new UsageError(`${what}: holds ${begins.length} PEM blocks; give exactly one public key`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${what}: not a readable PEM public key (${reason})`);
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new UsageError(
      `${what}: must be an RSA key (tokens are RS256), not ${key.asymmetricKeyType ?? "unknown"}`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new UsageError(`${what}: the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} needed`);
  }
  return String(key.export({ type: "spki", format: "pem" }));
}

/** `RSA 2048 bits, sha256 0123456789abcdef`: enough to tell keys apart, never the key. */
export function publicKeyFingerprint(pem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    return "(stored, but not a readable public key)";
  }
  const der = key.export({ type: "spki", format: "der" });
  const digest = createHash("sha256").update(der).digest("hex").slice(0, 16);
  const type = (key.asymmetricKeyType ?? "unknown").toUpperCase();
  const bits = key.asymmetricKeyDetails?.modulusLength;
  return `${type}${bits ? ` ${bits} bits` : ""}, sha256 ${digest}`;
}

async function readPublicKeyFile(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--public-key-file: cannot read ${file} (${reason})`);
  }
  if (bytes.length > MAX_KEY_FILE_BYTES) {
    throw new UsageError(`--public-key-file: ${file} is too large for a public key`);
  }
  return parsePublicKeyPem(bytes.toString("utf8"));
}

/** Sets only the fields given, each validated with the worker's schemas, then the record. */
export async function updateApp(
  deps: Deps,
  appIdInput: string,
  input: UpdateAppInput,
): Promise<UpdatedApp> {
  const appId = check(appIdSchema, appIdInput, "app id");
  const account = (value: string, what: string) =>
    value === "none" ? null : check(stripeAccountId, value, what);
  if (input.origins !== undefined && input.clearOrigins) {
    throw new UsageError("--origin and --clear-origins cannot be combined");
  }

  // Everything is checked before KV is read, so a bad flag costs no wrangler run.
  const changes: Partial<AppRecord> = {};
  if (input.name !== undefined) {
    changes.name = check(appRecordSchema.shape.name, input.name.trim(), "--name");
  }
  if (input.successUrl !== undefined) {
    changes.successUrl = check(returnUrl, input.successUrl, "--success-url");
  }
  if (input.cancelUrl !== undefined) {
    changes.cancelUrl = check(returnUrl, input.cancelUrl, "--cancel-url");
  }
  if (input.stripeAccountTest !== undefined) {
    changes.stripeAccountTest = account(input.stripeAccountTest, "--stripe-account-test");
  }
  if (input.stripeAccountLive !== undefined) {
    changes.stripeAccountLive = account(input.stripeAccountLive, "--stripe-account-live");
  }
  if (input.live !== undefined) changes.liveEnabled = input.live;
  if (input.tokenIssuer !== undefined) {
    changes.tokenIssuer = check(tokenIssuerSchema, input.tokenIssuer, "--issuer");
  }
  if (input.publicKeyFile !== undefined) {
    changes.publicKey = await readPublicKeyFile(input.publicKeyFile);
  }
  if (input.origins !== undefined) {
    if (input.origins.length === 0) throw new UsageError("--origin needs a value");
    changes.allowedOrigins = checkOrigins(input.origins);
  }
  if (input.clearOrigins) changes.allowedOrigins = [];
  if (Object.keys(changes).length === 0) {
    throw new UsageError("app update needs at least one change (see --help)");
  }

  // The app's record and the CORS index entries of the new origins, in one read.
  const origins = changes.allowedOrigins;
  const [rawApp, ...rawIndexes] = await deps.kv.getMany([
    kvKeys.app(appId),
    ...(origins ?? []).map((origin) => kvKeys.corsOrigin(origin)),
  ]);
  if (rawApp === null || rawApp === undefined) throw new CommandError(`app ${appId} not found`);
  const app = parseStored(appRecordSchema, rawApp, `the record of app ${appId}`);

  const changed = (Object.keys(changes) as (keyof AppRecord)[]).filter(
    (field) => JSON.stringify(app[field]) !== JSON.stringify(changes[field]),
  );
  const indexWrites =
    origins === undefined ? [] : await originIndexWrites(deps.kv, app, origins, rawIndexes);
  if (changed.length === 0) {
    // The record already says so; the index is still brought in line with it.
    await deps.kv.putMany(indexWrites);
    return { app, changed };
  }
  const result = appRecordSchema.safeParse({ ...app, ...changes, updatedAt: timestamp(deps) });
  if (!result.success) {
    const messages = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new CommandError(`the updated record would be invalid: ${messages.join("; ")}`);
  }
  // One bulk write, the index first: should it stop half-way, a preflight may pass for an
  // origin that the record does not (yet, or any more) allow, which the worker then refuses.
  await deps.kv.putMany([...indexWrites, [kvKeys.app(app.id), JSON.stringify(result.data)]]);
  return { app: result.data, changed };
}

const originIndexSchema = z.array(z.string());

/**
 * The writes that make the CORS index (`corsorigin:<origin>` → ids of the apps that allow the
 * origin, read by the worker to answer preflights) agree with the app's new origins: its id
 * added where missing, and removed from the origins it no longer allows (an entry left with
 * no id is written as `[]`, which the worker treats as absent). `rawNew` holds the current
 * entries of `origins`, in order.
 */
async function originIndexWrites(
  kv: KvStore,
  app: AppRecord,
  origins: string[],
  rawNew: (string | null | undefined)[],
): Promise<[string, string][]> {
  const removed = app.allowedOrigins.filter((origin) => !origins.includes(origin));
  const rawRemoved = await kv.getMany(removed.map((origin) => kvKeys.corsOrigin(origin)));
  const entry = (raw: string | null | undefined, origin: string): string[] =>
    raw === null || raw === undefined
      ? []
      : parseStored(originIndexSchema, raw, `the CORS index entry of ${origin}`);

  const writes: [string, string][] = [];
  origins.forEach((origin, i) => {
    const ids = entry(rawNew[i], origin);
    if (!ids.includes(app.id)) {
      writes.push([kvKeys.corsOrigin(origin), JSON.stringify([...ids, app.id])]);
    }
  });
  removed.forEach((origin, i) => {
    const ids = entry(rawRemoved[i], origin);
    if (ids.includes(app.id)) {
      writes.push([kvKeys.corsOrigin(origin), JSON.stringify(ids.filter((id) => id !== app.id))]);
    }
  });
  return writes;
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
