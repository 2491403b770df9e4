import {
  type AppRecord,
  appRecordSchema,
  type KeyRecord,
  keyRecordSchema,
  kvKeys,
} from "./records.ts";

async function readJson<T>(
  kv: KVNamespace,
  key: string,
  parse: (value: unknown) => T,
): Promise<T | null> {
  const value = await kv.get(key, "json");
  return value === null ? null : parse(value);
}

export function findApp(kv: KVNamespace, appId: string): Promise<AppRecord | null> {
  return readJson(kv, kvKeys.app(appId), (value) => appRecordSchema.parse(value));
}

export function findKeyByDigest(kv: KVNamespace, digest: string): Promise<KeyRecord | null> {
  return readJson(kv, kvKeys.apiKey(digest), (value) => keyRecordSchema.parse(value));
}

/** Whether any app allows this browser origin (the preflight's question). */
export async function isKnownBrowserOrigin(kv: KVNamespace, origin: string): Promise<boolean> {
  const appIds = await kv.get(kvKeys.corsOrigin(origin), "json");
  return Array.isArray(appIds) && appIds.length > 0;
}
