/** The service's one clock: Unix seconds, as D1 rows and Stripe's timestamps hold them. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
