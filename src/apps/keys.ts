import { randomToken } from "../crypto.ts";
import type { KeyType } from "./records.ts";

/**
 * API keys look like `cko_write_<43 base64url chars>`: a recognisable prefix for secret
 * scanners, the type for humans, and 256 bits from the platform's CSPRNG.
 */
export const API_KEY_PATTERN = /^cko_(read|write)_[A-Za-z0-9_-]{43}$/;

export function generateApiKey(type: KeyType): string {
  return `cko_${type}_${randomToken(32)}`;
}

export function generateKeyId(): string {
  return `key_${randomToken(12)}`;
}
