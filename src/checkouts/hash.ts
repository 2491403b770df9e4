import { randomToken } from "../crypto.ts";

/** A checkout's hash: 24 random bytes (192 bits), base64url, so 32 URL-safe characters. */
export const CHECKOUT_HASH_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function newCheckoutHash(): string {
  return randomToken(24);
}
