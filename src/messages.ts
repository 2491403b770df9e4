/**
 * The error texts of the API, written once: the code throws them and the OpenAPI document's
 * examples show them. Texts that carry a value are functions of it.
 */
type Mode = "live" | "test";

/** Why an access token did not verify: the end of "Access token is not valid: …". */
export const TOKEN_REASONS = {
  malformed: "it is not a well-formed JWT",
  audienceNotUuid: "its audience (aud) must be the app's UUID",
  audienceNotSingle: "its audience (aud) must be the app's UUID, and only that",
  unknownApp: "it was not issued for a known app",
  noTokens: "this app does not accept access tokens",
  issuedInFuture: "it was issued in the future (iat)",
  tenantNotUuid: (claim: string) => `its ${claim} claim must be a UUID`,
  expired: "it has expired (exp)",
  audience: "its audience (aud) is not this app (X-CLIENT-ID)",
  issuer: "its issuer (iss) is not the app's issuer",
  notYetValid: "it is not valid yet (nbf)",
  noExpiry: "it has no expiry (exp)",
  claim: (claim: string) => `its ${claim} claim is invalid`,
  algorithm: "only RS256 tokens are accepted",
  signature: "its signature does not verify",
  unverified: "it could not be verified",
} as const;

/** What the service asked Stripe to do, in the words its errors use. */
export interface StripeOperation {
  /** The object of "Stripe refused …". */
  what: string;
  /** The verb phrase of "Stripe failed to …". */
  doing: string;
  /** What the caller can do after a failure that may pass. */
  retry: string;
}

export const STRIPE_OPERATIONS = {
  createCheckoutSession: {
    what: "the checkout session",
    doing: "create the checkout session",
    retry: "retry the same request (same state)",
  },
  markCustomerReverseCharge: {
    what: "the update of the tenant's Stripe customer (tax_exempt=reverse)",
    doing: "update the tenant's Stripe customer (tax_exempt=reverse)",
    retry: "it is tried again",
  },
  markCustomerNotExempt: {
    what: "the update of the tenant's Stripe customer (tax_exempt=none)",
    doing: "update the tenant's Stripe customer (tax_exempt=none)",
    retry: "it is tried again",
  },
  readCheckoutSession: {
    what: "the read of the checkout session",
    doing: "read the checkout session",
    retry: "the cron reads it again before it expires the checkout",
  },
  readSubscription: {
    what: "the read of the subscription",
    doing: "read the subscription",
    retry: "Stripe delivers the event again, and the reconciliation reads it again",
  },
  readInvoice: {
    what: "the read of the invoice",
    doing: "read the invoice",
    retry: "Stripe delivers the event again",
  },
  readCharge: {
    what: "the read of the charge",
    doing: "read the charge",
    retry: "Stripe delivers the event again",
  },
  expireCheckoutSession: {
    what: "the expiry of a checkout session that a newer one replaced",
    doing: "expire a checkout session that a newer one replaced",
    retry: "the cron asks again",
  },
  createPortalSession: {
    what: "the billing portal session",
    doing: "create the billing portal session",
    retry: "retry the same request",
  },
} as const satisfies Record<string, StripeOperation>;

/** Why a webhook endpoint's URL is refused: "url …" (src/outbound/url-rules.ts). */
export const URL_REFUSALS = {
  notAbsolute: "url must be an absolute URL (https://…)",
  notHttps: "url must use https (plain http only to a loopback host in local development)",
  credentials: "url must not contain a user name or password",
  fragment: "url must not have a fragment (#…)",
  port: "url must use the standard port (443)",
  ipLiteral: "url must name a public host, not an IP address",
  privateHost:
    "url must name a public host: loopback, private, link-local and special-use names are refused",
} as const;

export const MESSAGES = {
  internal: "Internal error",
  notFound: (method: string, path: string) => `No route for ${method} ${path}`,
  methodNotAllowed: (method: string, allow: string) =>
    `Method ${method} is not allowed here; use ${allow}`,
  misconfiguredVariables: (names: string) =>
    `Service misconfigured: the variable ${names} is missing or malformed`,
  misconfiguredSecretKey: (name: string, mode: Mode) =>
    `Service misconfigured: the secret ${name} is missing or is not a ${mode}-mode Stripe key`,

  bodyTooLarge: (maxBytes: number) => `Request body is too large (at most ${maxBytes} bytes)`,
  malformedJson: "Malformed JSON in request body",
  unsupportedBodyType:
    "Content-Type must be application/json (a JSON body labelled text/plain, or sent without a Content-Type, is read as JSON too)",

  credentialsMissing: (tokens: boolean) =>
    tokens
      ? "Missing credentials: send an Authorization: Bearer access token, or X-API-KEY, X-API-KEY-TYPE and X-CLIENT-ID from your server"
      : "Missing credentials: send X-API-KEY, X-API-KEY-TYPE and X-CLIENT-ID from your server",
  credentialsBoth: "Send either an API key or an Authorization token, not both",
  keyType: "X-API-KEY-TYPE must be read or write",
  clientId: "X-CLIENT-ID must be the app's UUID",
  keyMalformed: "X-API-KEY is not a well-formed API key",
  keyInvalid: "X-API-KEY is not a valid API key for this X-CLIENT-ID and X-API-KEY-TYPE",
  keyRevoked: "This API key has been revoked",
  readKey: "A read API key may not do this; use a write API key",
  keyFromBrowser:
    "API keys must never be used from a browser (this request carries an Origin header); call this API from your server",
  appDisabled: "This app is disabled",
  bearerMalformed: "Authorization must be 'Bearer <access token>'",
  tokenInvalid: (reason: string) => `Access token is not valid: ${reason}`,
  tokenOnKeyRoute: "Access tokens may not call this route; use a write API key from your server",
  originNotAllowed: "This browser origin is not allowed",
  originNotAllowedForApp: "This browser origin is not allowed for this app",
  rateLimited: (what: string, seconds: number) =>
    `Too many ${what}; retry after ${seconds} seconds`,

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
  setupNeedsCustomer: (mode: Mode, hasTenant: boolean) =>
    `A setup checkout needs the tenant's Stripe customer from an earlier completed checkout in ${mode} mode, and ${hasTenant ? "this tenant has none yet" : "this request names no tenant"}`,
  setupCustomerGone: (mode: Mode) =>
    `A setup checkout needs the tenant's Stripe customer, and Stripe no longer has the one remembered in ${mode} mode (it was forgotten); complete a payment or subscription checkout first`,
  checkoutNotFound: "No checkout session with this id",
  refundBeforeCompletion:
    "This refund's checkout (named in its payment's metadata) has no recorded completion yet; Stripe delivers the event again",
  /** The status named for a subscription paid at checkout that no Stripe event has shown yet. */
  subscriptionAwaitingEvents: "paid at checkout, its events not yet received",
  reverseChargeContradicts: (id: string, mode: Mode, reverse: boolean) =>
    `This tenant's running subscription ${id} of this app in ${mode} mode is charged ${reverse ? "without" : "with"} reverse charge; a checkout ${reverse ? "with" : "without"} reverse charge would change the tax treatment of its invoices. Cancel the subscription first, or check out with the same isReverseCharge`,
  subscriptionExists: (id: string, status: string, mode: Mode) =>
    `This tenant already has a subscription of this app in ${mode} mode, ${id} (${status}); change or cancel it in the customer portal (POST /api/v1/tenants/{tenantId}/portal-sessions) instead of buying a second one`,
  tokenOtherTenant:
    "This access token is not for this tenant (its tenantId claim); a token may only use its own tenant's billing",
  portalNoCustomer: (mode: Mode) =>
    `This tenant has no Stripe customer in ${mode} mode yet; the portal opens after its first completed checkout`,
  portalNoReturnUrl:
    "This app has no portal return URL configured; the operator must set it first (app update --portal-return-url)",
  portalNotConfigured: (mode: Mode, account: string | null) =>
    `The customer portal is not set up in ${mode} mode: the operator must save the customer portal settings in the Stripe Dashboard (${mode} mode) of ${account ? `the app's connected account ${account}` : "the platform's Stripe account"}, then retry`,
  portalNoSubscription: (mode: Mode) =>
    `This tenant has no current subscription in ${mode} mode to cancel or change`,
  subscriptionNotFound: "No subscription with this id for this tenant",

  stripeMalformed: (expected: string) => `Stripe answered with ${expected}`,
  stripeTimeout: (retry: string) => `Stripe did not answer in time; ${retry}`,
  stripeUnreachable: (retry: string) => `Could not reach Stripe; ${retry}`,
  stripeInFlight: (what: string) =>
    `Another request for ${what} is still in progress at Stripe; retry shortly`,
  stripeKeyRefused: (mode: Mode) =>
    `Stripe refused this service's ${mode}-mode API key; the operator must check it`,
  stripeAccountRefused: (what: string, mode: Mode) =>
    `Stripe refused access to ${what} for this app's ${mode}-mode account; the operator must check the app's Stripe account`,
  stripeRateLimited: "Stripe is rate limiting requests; retry in a few seconds",
  stripeUnavailable: (retry: string) => `Stripe is unavailable; ${retry} later`,
  stripeRefused: (what: string, field: string | null, reason: string) =>
    `Stripe refused ${what}${field ? ` (${field})` : ""}: ${reason}`,
  stripeFailed: (doing: string, retry: string) => `Stripe failed to ${doing}; ${retry}`,

  webhookSecretsMissing:
    "Service misconfigured: the secrets STRIPE_WEBHOOK_SECRET_TEST and STRIPE_WEBHOOK_SECRET_LIVE are missing",
  webhookSecretMissing: (name: string, mode: Mode) =>
    `Service misconfigured: the secret ${name} is missing, so ${mode}-mode events cannot be verified`,
  connectWebhookSecretMissing: (name: string, mode: Mode) =>
    `Service misconfigured: the secret ${name} is missing, so ${mode}-mode events of connected accounts cannot be verified`,
  invalidSignature: "Invalid signature",
  eventNotJson: "Malformed event: the signed body is not JSON",
  eventNotStripe: "Malformed event: the signed body is not a Stripe event",
  eventWithoutSession: "Malformed event: a checkout.session event without a session id",

  misconfiguredEncryptionKey:
    "Service misconfigured: the secret WEBHOOK_ENCRYPTION_KEY is missing or is not 32 bytes in base64",
  encryptionKeyDoesNotOpen:
    "Service misconfigured: WEBHOOK_ENCRYPTION_KEY does not open a stored webhook signing secret (was the key changed?)",
  endpointNotFound: "No webhook endpoint with this id",
  secretRotatedMeanwhile:
    "This endpoint's secret was rotated meanwhile; rotate it again to get a secret shown (nothing was changed)",
  endpointLimit: (max: number, mode: Mode) =>
    `This app already has ${max} webhook endpoints in ${mode} mode; delete one first`,
  endpointNotInMode: (mode: Mode) =>
    `This webhook endpoint receives ${mode}-mode events, not this event's`,
  endpointDisabled:
    'This webhook endpoint is disabled; enable it first (PATCH /api/v1/webhook-endpoints/{id} with {"enabled": true})',
  endpointSkipsType: (type: string) => `This webhook endpoint does not take ${type} events`,
  webhookEventNotFound: "No webhook event with this id",
  noEndpointForEvent: (type: string, mode: Mode) =>
    `No enabled webhook endpoint of this app takes ${type} events in ${mode} mode`,
  cursorInvalid: "cursor must be a nextCursor this API returned",
} as const;
