import { sha256Hex } from "../crypto.ts";

/**
 * An Idempotency-Key derived from everything that the request carries (the reservation it
 * belongs to, the mode, the account and the parameters), so one key can never carry two
 * parameter sets: a renewed reservation, a customer dropped or a changed app URL is another
 * key, while a retry of the very same request is the same key and reaches Stripe's saved result.
 */
export async function idempotencyKey(
  scope: "session" | "customer" | "portal" | "expire",
  ...parts: unknown[]
) {
  return `checkout-edge-${scope}-${await sha256Hex(JSON.stringify(parts))}`;
}
