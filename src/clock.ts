/** The service's one clock: Unix seconds, as D1 rows and Stripe's timestamps hold them. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Milliseconds, for ordering reads of the same object (src/db/billing.ts). */
export function nowMs(): number {
  return Date.now();
}

/** Unix seconds as the ISO 8601 time the API answers with. */
export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
export const isoOrNull = (seconds: number | null): string | null =>
  seconds === null ? null : iso(seconds);
