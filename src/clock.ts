/** The service's one clock: Unix seconds, as D1 rows and Stripe's timestamps hold them. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Milliseconds, for ordering reads of the same object (src/db/billing.ts). */
export function nowMs(): number {
  return Date.now();
}
