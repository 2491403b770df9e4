import {
  type AppRecord,
  appRecordSchema,
  type KeyRecord,
  keyRecordSchema,
  kvKeys,
} from "./records.ts";

/**
 * App and key records are read on every authenticated request, so they are cached twice:
 * by KV at the edge (`cacheTtl`) and, parsed, in this isolate. A revoked key or disabled app
 * therefore takes effect within KV_CACHE_TTL_SECONDS + ISOLATE_TTL_MS (90 s; plus KV's own
 * propagation between locations, up to 60 s). Only records that exist are cached, so a new
 * key or app works at once. Bounded: the oldest entries go first past MAX_ENTRIES.
 */
const KV_CACHE_TTL_SECONDS = 60;
const ISOLATE_TTL_MS = 30_000;
const MAX_ENTRIES = 2_000;
const cached = new Map<string, { value: unknown; until: number }>();

async function readRecord<T>(
  kv: KVNamespace,
  key: string,
  parse: (value: unknown) => T,
): Promise<T | null> {
  const now = Date.now();
  const hit = cached.get(key);
  if (hit && hit.until > now) return hit.value as T;
  const raw = await kv.get(key, { type: "json", cacheTtl: KV_CACHE_TTL_SECONDS });
  if (raw === null) {
    cached.delete(key);
    return null;
  }
  const value = parse(raw);
  if (cached.size >= MAX_ENTRIES) {
    const oldest = cached.keys().next().value;
    if (oldest !== undefined) cached.delete(oldest);
  }
  cached.delete(key);
  cached.set(key, { value, until: now + ISOLATE_TTL_MS });
  return value;
}

/** Forgets this isolate's cached records (tests that change a record after using it). */
export function clearRecordCache(): void {
  cached.clear();
}

export function findApp(kv: KVNamespace, appId: string): Promise<AppRecord | null> {
  return readRecord(kv, kvKeys.app(appId), (value) => appRecordSchema.parse(value));
}

export function findKeyByDigest(kv: KVNamespace, digest: string): Promise<KeyRecord | null> {
  return readRecord(kv, kvKeys.apiKey(digest), (value) => keyRecordSchema.parse(value));
}

/** Whether any app allows this browser origin (the preflight's question). */
export async function isKnownBrowserOrigin(kv: KVNamespace, origin: string): Promise<boolean> {
  const appIds = await kv.get(kvKeys.corsOrigin(origin), {
    type: "json",
    cacheTtl: KV_CACHE_TTL_SECONDS,
  });
  return Array.isArray(appIds) && appIds.length > 0;
}
