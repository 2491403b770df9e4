import * as z from "zod";
import { API_KEY_PATTERN } from "../apps/keys.ts";
import type { AppRecord, KeyRecord } from "../apps/records.ts";
import { findApp, findKeyByDigest } from "../apps/store.ts";
import { sha256Hex } from "../crypto.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/** The app id in its one canonical form (lower case), as it is stored. */
const clientIdSchema = z.uuid().transform((value) => value.toLowerCase());
const keyTypeHeaderSchema = z.enum(["read", "write"]);

export interface VerifiedApiKey {
  app: AppRecord;
  key: KeyRecord;
}

/**
 * Verifies the three API-key headers against KV. The key is looked up by its SHA-256 digest,
 * so the comparison never runs over the secret itself and its timing says nothing about which
 * part of a key was right. Unknown key, another app's key and a wrong type all get the same
 * answer, so a caller learns nothing about keys it does not hold.
 */
export async function verifyApiKey(kv: KVNamespace, headers: Headers): Promise<VerifiedApiKey> {
  const apiKey = headers.get("X-API-KEY") ?? "";
  const keyType = keyTypeHeaderSchema.safeParse(headers.get("X-API-KEY-TYPE"));
  if (!keyType.success) throw new ApiError("unauthorized", MESSAGES.keyType);
  const clientId = clientIdSchema.safeParse(headers.get("X-CLIENT-ID"));
  if (!clientId.success) throw new ApiError("unauthorized", MESSAGES.clientId);
  if (!API_KEY_PATTERN.test(apiKey)) throw new ApiError("unauthorized", MESSAGES.keyMalformed);

  const key = await findKeyByDigest(kv, await sha256Hex(apiKey));
  if (!key || key.appId !== clientId.data || key.type !== keyType.data) {
    throw new ApiError("unauthorized", MESSAGES.keyInvalid);
  }
  if (key.revokedAt !== null) throw new ApiError("unauthorized", MESSAGES.keyRevoked);

  const app = await findApp(kv, key.appId);
  if (app?.status !== "active") throw new ApiError("forbidden", MESSAGES.appDisabled);
  return { app, key };
}
