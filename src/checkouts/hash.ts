import { randomToken } from "../crypto.ts";

/** A checkout's hash: 24 random bytes (192 bits), base64url (CHECKOUT_HASH_PATTERN). */
export function newCheckoutHash(): string {
  return randomToken(24);
}
