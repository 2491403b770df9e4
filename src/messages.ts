/**
 * The error texts of the API that the code and the OpenAPI document both use: each is written
 * here once. Texts that carry a value are functions of it.
 */
export const MESSAGES = {
  sofortDiscontinued:
    "paymentMethodType sofort is no longer available: Stripe discontinued SOFORT on 2025-03-31. Use card or sepa instead",
  liveNotEnabled:
    'Live mode is not enabled for this app; send "test": true or ask the operator to enable live mode',
  liveNeedsHttps:
    "Service misconfigured: the variable PUBLIC_BASE_URL must be https for live checkouts",
  noReturnUrls:
    "This app has no success and cancel URL configured; the operator must set them first",
  stateReused:
    "This state was already used with different parameters; use a new state for a new checkout",
  stateBusy: "Another request with this state is still in progress; retry shortly",
  stateExpiredUnconfirmed:
    "The checkout of this state expired before Stripe confirmed it; use a new state for a new checkout",
  setupNeedsCustomer: (mode: "live" | "test", hasTenant: boolean) =>
    `A setup checkout needs the tenant's Stripe customer from an earlier completed checkout in ${mode} mode, and ${hasTenant ? "this tenant has none yet" : "this request names no tenant"}`,
  setupCustomerGone: (mode: "live" | "test") =>
    `A setup checkout needs the tenant's Stripe customer, and Stripe no longer has the one remembered in ${mode} mode (it was forgotten); complete a payment or subscription checkout first`,
} as const;
