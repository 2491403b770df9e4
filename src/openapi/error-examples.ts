import { MESSAGES, STRIPE_OPERATIONS, TOKEN_REASONS } from "../messages.ts";
import { MAX_BODY_BYTES } from "../middleware/limit-body.ts";
import { type ErrorExamples, failure } from "./components.ts";

/** The documented failures, by status and cause, with the service's own texts (src/messages.ts). */

export const MISCONFIGURED: ErrorExamples = {
  variable: [
    "A variable is missing or malformed",
    MESSAGES.misconfiguredVariables("PUBLIC_BASE_URL"),
  ],
  internal: ["Anything unexpected (the cause is only in the log)", MESSAGES.internal],
};

export const INTERNAL = failure(
  "Our fault, including a missing or malformed variable or secret (the error names it)",
  MISCONFIGURED,
);

export const CREATE_400: ErrorExamples = {
  field: ["A field is invalid", "quantity must be a whole number from 1 to 999999"],
  missing: ["A field is missing", "state is required"],
  unknown: ["An unknown field", "Unknown field in body: coupon"],
  json: ["Malformed JSON", MESSAGES.malformedJson],
  size: ["Body too large", MESSAGES.bodyTooLarge(MAX_BODY_BYTES)],
  sofort: ["sofort", MESSAGES.sofortDiscontinued],
  stripe: [
    "Stripe refused the request",
    MESSAGES.stripeRefused(
      STRIPE_OPERATIONS.createCheckoutSession.what,
      "price",
      "No such price: 'price_missing'",
    ),
  ],
};

export const CREATE_401: ErrorExamples = {
  invalidKey: ["Unknown key, another app's key, or the wrong type", MESSAGES.keyInvalid],
  revoked: ["Revoked key", MESSAGES.keyRevoked],
  keyType: ["Missing or wrong X-API-KEY-TYPE", MESSAGES.keyType],
  both: ["API key and token together", MESSAGES.credentialsBoth],
};

export const TOKEN_401: ErrorExamples = {
  expired: ["Expired access token", MESSAGES.tokenInvalid(TOKEN_REASONS.expired)],
  algorithm: ["Not RS256", MESSAGES.tokenInvalid(TOKEN_REASONS.algorithm)],
  audience: ["Wrong audience", MESSAGES.tokenInvalid(TOKEN_REASONS.audience)],
};

export const BROWSER_KEY: [string, string] = ["An API key from a browser", MESSAGES.keyFromBrowser];

export const CREATE_403: ErrorExamples = {
  readKey: ["A read key", MESSAGES.readKey],
  browser: BROWSER_KEY,
  live: ["Live mode not enabled", MESSAGES.liveNotEnabled],
  disabled: ["App disabled", MESSAGES.appDisabled],
  urls: ["App without success and cancel URL", MESSAGES.noReturnUrls],
};

export const CREATE_409: ErrorExamples = {
  state: ["State reused with other parameters", MESSAGES.stateReused],
  setup: ["setup without a known customer", MESSAGES.setupNeedsCustomer("test", true)],
  setupCustomerGone: [
    "setup, and Stripe no longer has the tenant's customer",
    MESSAGES.setupCustomerGone("test"),
  ],
  secondSubscription: [
    "A second running subscription for the tenant",
    MESSAGES.subscriptionExists("sub_1QExample", "active", "test"),
  ],
};

export const CREATE_410 = failure(
  "The state's reservation expired before Stripe confirmed a session for it: there is no checkout to answer with; use a new state",
  { expired: ["Expired before Stripe confirmed it", MESSAGES.stateExpiredUnconfirmed] },
);

export const CREATE_415 = failure(
  "The body is labelled with another type than JSON (application/json; JSON labelled text/plain, or sent without a Content-Type, is read as JSON too)",
  { contentType: ["Not JSON", MESSAGES.unsupportedBodyType] },
);

export const STRIPE_FAILURES = {
  502: failure("Stripe failed, sent something unusable, or refused this service's credentials", {
    failed: [
      "Stripe failed",
      MESSAGES.stripeFailed(
        STRIPE_OPERATIONS.createCheckoutSession.doing,
        STRIPE_OPERATIONS.createCheckoutSession.retry,
      ),
    ],
    connection: [
      "Stripe unreachable",
      MESSAGES.stripeUnreachable(STRIPE_OPERATIONS.createCheckoutSession.retry),
    ],
    key: ["Stripe refused the service's key", MESSAGES.stripeKeyRefused("test")],
  }),
  503: failure(
    "Stripe is unavailable or rate limiting; retry the same request (same state), after Retry-After when sent",
    {
      unavailable: [
        "Stripe unavailable",
        MESSAGES.stripeUnavailable(STRIPE_OPERATIONS.createCheckoutSession.retry),
      ],
      rateLimited: ["Stripe rate limiting", MESSAGES.stripeRateLimited],
      busy: ["Another request with this state holds it", MESSAGES.stateBusy],
    },
    ["Retry-After"],
  ),
  504: failure(MESSAGES.stripeTimeout(STRIPE_OPERATIONS.createCheckoutSession.retry), {
    timeout: [
      "Stripe timed out",
      MESSAGES.stripeTimeout(STRIPE_OPERATIONS.createCheckoutSession.retry),
    ],
  }),
};

export const RATE_LIMITED = failure(
  "Rate limited: too many creates for this credential (API key, or app and tenant of a token) or from this client address, or too many failed credential checks from this address, within 60 seconds. Retry after Retry-After seconds.",
  {
    perCredential: [
      "Per credential",
      MESSAGES.rateLimited("checkout sessions for this credential", 60),
    ],
    perAddress: [
      "Per client address",
      MESSAGES.rateLimited("checkout sessions from this address", 60),
    ],
    failedCredentials: [
      "Failed credential checks",
      MESSAGES.rateLimited("failed credential checks from this address", 60),
    ],
  },
  ["Retry-After"],
);

/* The routes for API keys only (the outbound webhook routes): no tokens, no browsers. */

export const KEY_ONLY_401 = failure("No credentials, or credentials that do not verify", {
  missing: ["No credentials", MESSAGES.credentialsMissing(false)],
  ...CREATE_401,
});

export const KEY_ONLY_403: ErrorExamples = {
  token: ["An access token", MESSAGES.tokenOnKeyRoute],
  browser: BROWSER_KEY,
  disabled: ["App disabled", MESSAGES.appDisabled],
};

export const FAILED_CREDENTIALS_LIMITED = failure(
  "Too many failed credential checks from this client address within 60 seconds; retry after Retry-After seconds",
  {
    failedCredentials: [
      "Failed credential checks",
      MESSAGES.rateLimited("failed credential checks from this address", 60),
    ],
  },
  ["Retry-After"],
);

/** Where a signing secret is encrypted or decrypted with the worker secret WEBHOOK_ENCRYPTION_KEY. */
export const ENCRYPTION_INTERNAL = failure(
  "Our fault, including a missing or malformed WEBHOOK_ENCRYPTION_KEY (the error names it)",
  {
    encryptionKey: [
      "WEBHOOK_ENCRYPTION_KEY missing or not 32 bytes",
      MESSAGES.misconfiguredEncryptionKey,
    ],
    ...MISCONFIGURED,
  },
);
