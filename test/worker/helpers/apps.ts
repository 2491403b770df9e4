import { env } from "cloudflare:workers";
import { generateApiKey, generateKeyId } from "../../../src/apps/keys.ts";
import {
  type AppRecord,
  appRecordSchema,
  type KeyType,
  keyRecordSchema,
  kvKeys,
} from "../../../src/apps/records.ts";
import { randomToken, sha256Hex } from "../../../src/crypto.ts";

/** Writes an app record to KV the way the admin CLI does (same schema, same keys). */
export async function givenApp(overrides: Partial<AppRecord> = {}): Promise<AppRecord> {
  const now = new Date().toISOString();
  const app = appRecordSchema.parse({
    id: crypto.randomUUID(),
    name: "Test app",
    status: "active",
    liveEnabled: false,
    stripeAccountTest: null,
    stripeAccountLive: null,
    successUrl: "https://app.example.test/billing/success",
    cancelUrl: "https://app.example.test/billing/cancel",
    createdAt: now,
    updatedAt: now,
    ...overrides,
  });
  await env.APPS.put(kvKeys.app(app.id), JSON.stringify(app));
  return app;
}

export interface GivenKey {
  key: string;
  id: string;
  headers: Record<string, string>;
}

export async function givenKey(
  appId: string,
  type: KeyType,
  options: { revoked?: boolean } = {},
): Promise<GivenKey> {
  const key = generateApiKey(type);
  const digest = await sha256Hex(key);
  const record = keyRecordSchema.parse({
    id: generateKeyId(),
    appId,
    type,
    label: "test",
    createdAt: new Date().toISOString(),
    revokedAt: options.revoked ? new Date().toISOString() : null,
  });
  await env.APPS.put(kvKeys.apiKey(digest), JSON.stringify(record));
  await env.APPS.put(kvKeys.appKey(appId, record.id), digest);
  await env.APPS.put(kvKeys.keyById(record.id), digest);
  return {
    key,
    id: record.id,
    headers: { "X-API-KEY": key, "X-API-KEY-TYPE": type, "X-CLIENT-ID": appId },
  };
}

/** An app with a write key, ready to create checkouts. */
export async function givenWriter(overrides: Partial<AppRecord> = {}) {
  const app = await givenApp(overrides);
  const writer = await givenKey(app.id, "write");
  return { app, headers: writer.headers, key: writer };
}

export function newState(): string {
  return randomToken(48);
}
