import { CHECKOUT_HASH_PATTERN } from "../checkouts/hash.ts";
import { failureEnvelope } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import { MAX_BODY_BYTES, MAX_WEBHOOK_BYTES } from "../middleware/limit-body.ts";
import { UNSUPPORTED_BODY_TYPE } from "../middleware/validation.ts";
import { createCheckoutBodySchema, STATE_PATTERN, tenantParamSchema } from "../schemas/checkout.ts";
import { sessionIdParamSchema } from "../schemas/params.ts";
import {
  createCheckoutResponseSchema,
  failureEnvelopeSchema,
  healthResponseSchema,
  readCheckoutResponseSchema,
  webhookResponseSchema,
} from "../schemas/responses.ts";
import {
  CREATE_CHECKOUT_EXAMPLES,
  CREATED_EXAMPLE,
  FOUND_EXAMPLE,
  HEALTH_EXAMPLE,
  WEBHOOK_EVENT_EXAMPLE,
  WEBHOOK_RESPONSE_EXAMPLES,
} from "./examples.ts";
import { jsonSchema, pathParameters } from "./json-schema.ts";
import type {
  ExampleObject,
  HeaderObject,
  OpenApiDocument,
  OperationObject,
  ParameterObject,
  Ref,
  ResponseObject,
  SecurityRequirement,
} from "./types.ts";

/** package.json's version; test/node/openapi.test.ts checks that the two agree. */
export const API_VERSION = "0.1.0";

const ref = (kind: "schemas" | "parameters" | "headers", name: string): Ref => ({
  $ref: `#/components/${kind}/${name}`,
});

// ---------------------------------------------------------------------------------------------
// Headers, parameters and credentials shared by the operations

const HEADERS = {
  "X-Request-Id": {
    description:
      "The request's id: the X-Request-Id the request sent if it is at most 128 characters of A-Z a-z 0-9 _ - =, else a new UUID. The worker's log line for the request carries the same id.",
    required: true,
    schema: { type: "string", maxLength: 128 },
  },
  "Retry-After": {
    description: "Seconds to wait before retrying the same request (same state)",
    schema: { type: "integer", minimum: 0 },
  },
  Allow: {
    description: "The methods this path answers to",
    required: true,
    schema: { type: "string" },
  },
  Location: {
    description:
      "Stripe's hosted checkout page for this checkout, exactly as recorded when the checkout was created (never a URL from the request)",
    required: true,
    schema: { type: "string", format: "uri" },
  },
  "Access-Control-Allow-Origin": {
    description:
      "Only for a browser request (Origin header) from an origin that an app lists: that origin. Unknown origins get no CORS headers, and their preflight is 403",
    schema: { type: "string" },
  },
  "Access-Control-Expose-Headers": {
    description: "With Access-Control-Allow-Origin: X-Request-Id, Retry-After",
    schema: { type: "string" },
  },
  Vary: {
    description: "Origin on CORS answers; Accept-Language on the payment page",
    schema: { type: "string" },
  },
  "Cache-Control": { description: "no-store", required: true, schema: { type: "string" } },
  "Referrer-Policy": { description: "no-referrer", required: true, schema: { type: "string" } },
  "X-Content-Type-Options": { description: "nosniff", required: true, schema: { type: "string" } },
  "Content-Security-Policy": {
    description:
      "default-src 'none', the page's one inline style allowed by its hash, no base URI, no forms, no framing",
    required: true,
    schema: { type: "string" },
  },
} satisfies Record<string, HeaderObject>;

type HeaderName = keyof typeof HEADERS;
const headers = (...names: HeaderName[]): Record<string, Ref> =>
  Object.fromEntries(names.map((name) => [name, ref("headers", name)]));

const PARAMETERS = {
  RequestId: {
    name: "X-Request-Id",
    in: "header",
    description:
      "Your own id for this request (at most 128 characters of A-Z a-z 0-9 _ - =); answered in the X-Request-Id response header and logged. Otherwise the worker makes one",
    required: false,
    schema: { type: "string", maxLength: 128, pattern: "^[A-Za-z0-9_=-]+$" },
  },
  Hash: {
    name: "hash",
    in: "path",
    description:
      "The last segment of data.checkout.nextAction.url (the checkout's hash). Anything else is answered like an unknown hash (404)",
    required: true,
    schema: { type: "string", pattern: CHECKOUT_HASH_PATTERN.source },
  },
  State: {
    name: "state",
    in: "query",
    description:
      "The state the checkout was created with. Missing or malformed: 403; not this checkout's: 404 (the same answer as an unknown hash)",
    required: true,
    schema: { type: "string", pattern: STATE_PATTERN.source },
  },
  AcceptLanguage: {
    name: "Accept-Language",
    in: "header",
    description: "The page is German where German is preferred, else English",
    required: false,
    schema: { type: "string" },
    example: "de-DE,de;q=0.9,en;q=0.8",
  },
  StripeSignature: {
    name: "Stripe-Signature",
    in: "header",
    description:
      "Stripe's signature of the raw body (t=…,v1=…), checked against the test and the live webhook signing secret; at most 5 minutes old",
    required: true,
    schema: { type: "string" },
  },
} satisfies Record<string, ParameterObject>;

const parameter = (name: keyof typeof PARAMETERS) => ref("parameters", name);

const SECURITY_SCHEMES = {
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-KEY",
    description:
      "An API key of the app (cko_write_… or cko_read_…), sent with X-API-KEY-TYPE and X-CLIENT-ID. Only from the app's server: a request with an Origin header (a browser) is refused with 403. Create routes need a write key (a read key is 403); the read route takes either.",
  },
  apiKeyType: {
    type: "apiKey",
    in: "header",
    name: "X-API-KEY-TYPE",
    description: "read or write: the type of the key in X-API-KEY; it must be the key's type",
  },
  clientId: {
    type: "apiKey",
    in: "header",
    name: "X-CLIENT-ID",
    description:
      "The app's UUID. Required with an API key; with an access token optional, and if sent it must equal the token's aud",
  },
  accessToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "Authorization: Bearer <access token> (the word Bearer in any case). An RS256 JWT signed by the key whose public key is stored on the app (none, HS* and every other algorithm are refused), with the claims aud (the app's UUID, or an array of exactly that one), iss (the issuer configured for the app), exp (required), nbf and iat (checked when present; 30 s clock skew allowed for all three) and tenantId (optional, a UUID: the tenant the checkout is for; such a token sees only its tenant's checkouts). The app is the one named by X-CLIENT-ID if sent, else by aud. Never together with X-API-KEY (401).",
  },
} as const;

const API_KEY = (...roles: string[]): SecurityRequirement => ({
  apiKey: roles,
  apiKeyType: [],
  clientId: [],
});
const ACCESS_TOKEN: SecurityRequirement = { accessToken: [] };

// ---------------------------------------------------------------------------------------------
// Responses

type ErrorExamples = Record<string, [summary: string, error: string]>;

function failure(
  description: string,
  examples: ErrorExamples,
  extraHeaders: HeaderName[] = [],
): ResponseObject {
  return {
    description,
    headers: headers("X-Request-Id", ...extraHeaders),
    content: {
      "application/json": {
        schema: ref("schemas", "Failure"),
        examples: Object.fromEntries(
          Object.entries(examples).map(([name, [summary, error]]) => [
            name,
            { summary, value: failureEnvelope(error) } satisfies ExampleObject,
          ]),
        ),
      },
    },
  };
}

function methodNotAllowed(allowed: string, other: string): ResponseObject {
  return failure(
    `Not for ${allowed}: any other method on this path is answered 405, with Allow: ${allowed}`,
    { method: [`${other} on this path`, `Method ${other} is not allowed here; use ${allowed}`] },
    ["Allow"],
  );
}

const MISCONFIGURED: ErrorExamples = {
  variable: [
    "A variable is missing or malformed",
    "Service misconfigured: the variable PUBLIC_BASE_URL is missing or malformed",
  ],
  internal: ["Anything unexpected (the cause is only in the log)", "Internal error"],
};

const INTERNAL = failure(
  "Our fault, including a missing or malformed variable or secret (the error names it)",
  MISCONFIGURED,
);

const CREATE_400: ErrorExamples = {
  field: ["A field is invalid", "quantity must be a whole number from 1 to 999999"],
  missing: ["A field is missing", "state is required"],
  unknown: ["An unknown field", "Unknown field in body: coupon"],
  json: ["Malformed JSON", "Malformed JSON in request body"],
  size: ["Body too large", `Request body is too large (at most ${MAX_BODY_BYTES} bytes)`],
  sofort: ["sofort", MESSAGES.sofortDiscontinued],
  stripe: [
    "Stripe refused the request",
    "Stripe refused the checkout session (price): No such price: 'price_missing'",
  ],
};

const CREATE_401: ErrorExamples = {
  invalidKey: [
    "Unknown key, another app's key, or the wrong type",
    "X-API-KEY is not a valid API key for this X-CLIENT-ID and X-API-KEY-TYPE",
  ],
  revoked: ["Revoked key", "This API key has been revoked"],
  keyType: ["Missing or wrong X-API-KEY-TYPE", "X-API-KEY-TYPE must be read or write"],
  both: [
    "API key and token together",
    "Send either an API key or an Authorization token, not both",
  ],
};

const TOKEN_401: ErrorExamples = {
  expired: ["Expired access token", "Access token is not valid: it has expired (exp)"],
  algorithm: ["Not RS256", "Access token is not valid: only RS256 tokens are accepted"],
  audience: [
    "Wrong audience",
    "Access token is not valid: its audience (aud) is not this app (X-CLIENT-ID)",
  ],
};

const BROWSER_KEY: [string, string] = [
  "An API key from a browser",
  "API keys must never be used from a browser (this request carries an Origin header); call this API from your server",
];

const CREATE_403: ErrorExamples = {
  readKey: ["A read key", "A read API key may not do this; use a write API key"],
  browser: BROWSER_KEY,
  live: ["Live mode not enabled", MESSAGES.liveNotEnabled],
  disabled: ["App disabled", "This app is disabled"],
  urls: ["App without success and cancel URL", MESSAGES.noReturnUrls],
};

const CREATE_409: ErrorExamples = {
  state: ["State reused with other parameters", MESSAGES.stateReused],
  setup: ["setup without a known customer", MESSAGES.setupNeedsCustomer("test", true)],
  setupCustomerGone: [
    "setup, and Stripe no longer has the tenant's customer",
    MESSAGES.setupCustomerGone("test"),
  ],
};

const CREATE_410 = failure(
  "The state's reservation expired before Stripe confirmed a session for it: there is no checkout to answer with; use a new state",
  { expired: ["Expired before Stripe confirmed it", MESSAGES.stateExpiredUnconfirmed] },
);

const CREATE_415 = failure(
  "The body is labelled with another type than JSON (application/json; JSON labelled text/plain, or sent without a Content-Type, is read as JSON too)",
  { contentType: ["Not JSON", UNSUPPORTED_BODY_TYPE] },
);

const STRIPE_FAILURES = {
  502: failure("Stripe failed, sent something unusable, or refused this service's credentials", {
    failed: [
      "Stripe failed",
      "Stripe failed to create the checkout session; retry the same request (same state)",
    ],
    connection: [
      "Stripe unreachable",
      "Could not reach Stripe; retry the same request (same state)",
    ],
    key: [
      "Stripe refused the service's key",
      "Stripe refused this service's test-mode API key; the operator must check it",
    ],
  }),
  503: failure(
    "Stripe is unavailable or rate limiting; retry the same request (same state), after Retry-After when sent",
    {
      unavailable: [
        "Stripe unavailable",
        "Stripe is unavailable; retry the same request (same state) later",
      ],
      rateLimited: [
        "Stripe rate limiting",
        "Stripe is rate limiting requests; retry in a few seconds",
      ],
      busy: ["Another request with this state holds it", MESSAGES.stateBusy],
    },
    ["Retry-After"],
  ),
  504: failure("Stripe did not answer in time; retry the same request (same state)", {
    timeout: [
      "Stripe timed out",
      "Stripe did not answer in time; retry the same request (same state)",
    ],
  }),
};

const RATE_LIMITED = failure(
  "Rate limited: too many creates for this credential (API key, or app and tenant of a token) or from this client address, or too many failed credential checks from this address, within 60 seconds. Retry after Retry-After seconds.",
  {
    perCredential: [
      "Per credential",
      "Too many checkout sessions for this credential; retry after 60 seconds",
    ],
    perAddress: [
      "Per client address",
      "Too many checkout sessions from this address; retry after 60 seconds",
    ],
    failedCredentials: [
      "Failed credential checks",
      "Too many failed credential checks from this address; retry after 60 seconds",
    ],
  },
  ["Retry-After"],
);

const CORS_HEADERS: HeaderName[] = [
  "Access-Control-Allow-Origin",
  "Access-Control-Expose-Headers",
  "Vary",
];

/** Token routes answer browsers of the app's origins with CORS headers, failures included. */
function withCors(responses: Record<string, ResponseObject>): Record<string, ResponseObject> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      { ...response, headers: { ...response.headers, ...headers(...CORS_HEADERS) } },
    ]),
  );
}

const html = (description: string, extraHeaders: HeaderName[] = []): ResponseObject => ({
  description,
  headers: headers(
    "X-Request-Id",
    "Cache-Control",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Content-Security-Policy",
    "Vary",
    ...extraHeaders,
  ),
  content: { "text/html": { schema: { type: "string" } } },
});

// ---------------------------------------------------------------------------------------------
// Operations

const createBody = () => ({
  description: `The checkout to create, as JSON (Content-Type: application/json, at most ${MAX_BODY_BYTES} bytes). The examples use the ids of the local Stripe double that npm run dev starts.`,
  required: true,
  content: {
    "application/json": {
      schema: ref("schemas", "CreateCheckoutBody"),
      examples: CREATE_CHECKOUT_EXAMPLES,
    },
  },
});

const created = (): ResponseObject => ({
  description:
    "The checkout: send the person to data.checkout.nextAction.url + '?state=' + the state you sent. A repeated request (same app, mode and state, same parameters) answers the same checkout without a second Stripe session.",
  headers: headers("X-Request-Id"),
  content: {
    "application/json": {
      schema: ref("schemas", "CreateCheckoutResponse"),
      examples: CREATED_EXAMPLE,
    },
  },
});

const CREATE_DESCRIPTION =
  "Creates a Stripe Checkout Session, records it under an unguessable hash and answers with the URL of this service's payment page. Checks in this order: body size, credentials, path, Content-Type, body, business rules (sofort, live mode, the app's URLs), idempotency, Stripe. Idempotent by state: (app, test/live, state) is one checkout; the same request again returns it (200) without creating another at Stripe, also when both arrive at once; the same state with other parameters is 409. Stripe's refusals (a price that does not exist) come back as 400 with Stripe's sentence; Stripe failing is 502/503/504, and retrying the same request with the same state is safe.";

const createCheckout = (): OperationObject => ({
  operationId: "createCheckoutSession",
  tags: ["Checkout sessions"],
  summary: "Create a checkout session",
  description: `${CREATE_DESCRIPTION} With a write API key the checkout has no tenant; with an access token it is for the token's tenantId claim, if any. Browsers may call it with an access token from the origins listed on the app (CORS).`,
  security: [API_KEY("write"), ACCESS_TOKEN],
  parameters: [parameter("RequestId")],
  requestBody: createBody(),
  responses: withCors({
    200: created(),
    400: failure(
      "Invalid input: body (each wrong field named), JSON or size; sofort; Stripe refusing the request",
      CREATE_400,
    ),
    401: failure("No credentials, or credentials that do not verify", {
      missing: [
        "No credentials",
        "Missing credentials: send an Authorization: Bearer access token, or X-API-KEY, X-API-KEY-TYPE and X-CLIENT-ID from your server",
      ],
      ...CREATE_401,
      ...TOKEN_401,
    }),
    403: failure("Credentials that verify but may not do this", {
      ...CREATE_403,
      origin: [
        "A token from an origin the app does not list",
        "This browser origin is not allowed for this app",
      ],
    }),
    405: methodNotAllowed("POST", "GET"),
    409: failure(
      "The state was used with other parameters, or setup without the tenant's customer",
      CREATE_409,
    ),
    410: CREATE_410,
    415: CREATE_415,
    429: RATE_LIMITED,
    500: INTERNAL,
    ...STRIPE_FAILURES,
  }),
});

const createTenantCheckout = (): OperationObject => ({
  operationId: "createTenantCheckoutSession",
  tags: ["Checkout sessions"],
  summary: "Create a checkout session for a tenant",
  description: `${CREATE_DESCRIPTION} The checkout is for the tenant in the path: recorded, sent to Stripe as client_reference_id and metadata, and the tenant's Stripe customer from an earlier checkout is reused. Write API keys only: access tokens are 403 (a token's tenant comes only from its own claim).`,
  security: [API_KEY("write")],
  parameters: [...pathParameters(tenantParamSchema), parameter("RequestId")],
  requestBody: createBody(),
  responses: {
    200: created(),
    400: failure("Invalid input, as on the route without tenant, or a tenantId that is no UUID", {
      tenantId: ["tenantId not a UUID", "tenantId in the path must be a UUID"],
      ...CREATE_400,
    }),
    401: failure("No credentials, or credentials that do not verify", {
      missing: [
        "No credentials",
        "Missing credentials: send X-API-KEY, X-API-KEY-TYPE and X-CLIENT-ID from your server",
      ],
      ...CREATE_401,
    }),
    403: failure("Credentials that verify but may not do this", {
      token: [
        "An access token",
        "Access tokens may not call this route; use a write API key from your server",
      ],
      ...CREATE_403,
    }),
    405: methodNotAllowed("POST", "GET"),
    409: failure(
      "The state was used with other parameters, or setup without the tenant's customer",
      CREATE_409,
    ),
    410: CREATE_410,
    415: CREATE_415,
    429: RATE_LIMITED,
    500: INTERNAL,
    ...STRIPE_FAILURES,
  },
});

const readCheckout = (): OperationObject => ({
  operationId: "getCheckoutSession",
  tags: ["Checkout sessions"],
  summary: "Read a checkout session",
  description:
    "The stored record of one of the caller's app's checkouts and its status, kept true by Stripe's webhooks. An open checkout past its expiry reads as expired. Read and write API keys see every checkout of their app; an access token only those of its own tenant (a token without tenantId, only those without a tenant). Another app's or tenant's checkout is 404, exactly as an unknown id. Never returns the state, its digest or Stripe's own URL. Browsers may call it with an access token from the origins listed on the app (CORS).",
  security: [API_KEY("read", "write"), ACCESS_TOKEN],
  parameters: [...pathParameters(sessionIdParamSchema), parameter("RequestId")],
  responses: withCors({
    200: {
      description: "The checkout",
      headers: headers("X-Request-Id"),
      content: {
        "application/json": {
          schema: ref("schemas", "ReadCheckoutResponse"),
          examples: FOUND_EXAMPLE,
        },
      },
    },
    400: failure("The id is not a Stripe Checkout Session id", {
      id: ["Malformed id", "id in the path must be a Stripe Checkout Session id (cs_…)"],
    }),
    401: failure("No credentials, or credentials that do not verify", {
      missing: [
        "No credentials",
        "Missing credentials: send an Authorization: Bearer access token, or X-API-KEY, X-API-KEY-TYPE and X-CLIENT-ID from your server",
      ],
      ...CREATE_401,
      ...TOKEN_401,
    }),
    403: failure("Credentials that verify but may not do this", {
      browser: BROWSER_KEY,
      origin: [
        "A token from an origin the app does not list",
        "This browser origin is not allowed for this app",
      ],
      disabled: ["App disabled", "This app is disabled"],
    }),
    404: failure("No checkout with this id that the caller may see", {
      notFound: ["Unknown, or another app's or tenant's", "No checkout session with this id"],
    }),
    405: methodNotAllowed("GET", "POST"),
    429: RATE_LIMITED,
    500: INTERNAL,
  }),
});

const paymentPage = (): OperationObject => ({
  operationId: "openPaymentPage",
  tags: ["Payment page"],
  summary: "The payment page: forward to Stripe's checkout",
  description:
    "Where nextAction.url + '?state=<state>' leads a person. The state's SHA-256 is compared with the stored digest in constant time; an open, unexpired checkout answers 303 to the Stripe URL recorded for it, and the first visit sets openedAt. Every other case is a small HTML page in German or English (after Accept-Language) that says what happened and what to do. An unknown hash and a wrong state get the very same 404 page, so nobody learns whether a hash exists. Every answer sends Cache-Control: no-store, Referrer-Policy: no-referrer, X-Content-Type-Options: nosniff and a strict Content-Security-Policy, and no cookies.",
  security: [],
  parameters: [
    parameter("Hash"),
    parameter("State"),
    parameter("AcceptLanguage"),
    parameter("RequestId"),
  ],
  responses: {
    303: {
      description: "The checkout can be paid: on to Stripe's hosted checkout page",
      headers: headers("X-Request-Id", "Location", "Cache-Control", "Referrer-Policy"),
    },
    403: html("No state, or a state that cannot be one (decided before any lookup)"),
    404: html(
      "Unknown hash or wrong state (the same page), or a checkout Stripe never confirmed (not ready)",
    ),
    410: html("The checkout is already paid or completed, its payment failed, or it expired"),
    405: {
      ...methodNotAllowed("GET", "POST"),
      headers: headers(
        "X-Request-Id",
        "Allow",
        "Cache-Control",
        "Referrer-Policy",
        "X-Content-Type-Options",
        "Content-Security-Policy",
      ),
    },
    500: html("Our fault: a page that asks to try again later"),
  },
});

const webhook = (): OperationObject => ({
  operationId: "receiveStripeWebhook",
  tags: ["Webhooks"],
  summary: "Receive Stripe's webhook events",
  description:
    "The endpoint for Stripe's webhooks (test and live, Connect events included) with the events checkout.session.completed, checkout.session.async_payment_succeeded, checkout.session.async_payment_failed and checkout.session.expired. The raw body is verified with Stripe's SDK against both signing secrets, and the event's livemode must match the secret that signed it; anything else is 400 and changes nothing. Each event id takes effect once (a replay is 200 and changes nothing); events may come in any order and never move a record back (completed never becomes expired). Other event types: 200, ignored. A failure answers 5xx so that Stripe delivers the event again.",
  security: [],
  parameters: [parameter("StripeSignature"), parameter("RequestId")],
  requestBody: {
    description: `A Stripe Event object, exactly the bytes Stripe sent (at most ${MAX_WEBHOOK_BYTES} bytes): the signature covers the raw body.`,
    required: true,
    content: {
      "application/json": {
        schema: {
          type: "object",
          description: "A Stripe Event (https://docs.stripe.com/api/events/object)",
          required: ["id", "type", "livemode", "data"],
          properties: {
            id: { type: "string" },
            type: { type: "string" },
            livemode: { type: "boolean" },
            account: { type: ["string", "null"] },
            data: { type: "object" },
          },
        },
        examples: WEBHOOK_EVENT_EXAMPLE,
      },
    },
  },
  responses: {
    200: {
      description: "The event was taken, was a replay, or is of a type this service ignores",
      headers: headers("X-Request-Id"),
      content: {
        "application/json": {
          schema: ref("schemas", "WebhookResponse"),
          examples: WEBHOOK_RESPONSE_EXAMPLES,
        },
      },
    },
    400: failure("Unsigned, badly signed, stale or tampered; or a body too large", {
      signature: ["Any signature failure", "Invalid signature"],
      size: ["Body too large", `Request body is too large (at most ${MAX_WEBHOOK_BYTES} bytes)`],
    }),
    405: methodNotAllowed("POST", "GET"),
    500: failure("Our fault, including missing webhook secrets", {
      secrets: [
        "No webhook secret configured",
        "Service misconfigured: the secrets STRIPE_WEBHOOK_SECRET_TEST and STRIPE_WEBHOOK_SECRET_LIVE are missing",
      ],
      ...MISCONFIGURED,
    }),
    ...STRIPE_FAILURES,
  },
});

const healthz = (): OperationObject => ({
  operationId: "getHealth",
  tags: ["Service"],
  summary: "Liveness",
  description:
    "Answers 200 when the worker runs, its configuration parses and the D1 and KV bindings answer. No secrets, no other I/O.",
  security: [],
  parameters: [parameter("RequestId")],
  responses: {
    200: {
      description: "Alive",
      headers: headers("X-Request-Id"),
      content: {
        "application/json": {
          schema: ref("schemas", "HealthResponse"),
          examples: HEALTH_EXAMPLE,
        },
      },
    },
    405: methodNotAllowed("GET", "POST"),
    500: failure("A variable is missing or malformed, or D1 or KV does not answer", MISCONFIGURED),
  },
});

const openApiJson = (): OperationObject => ({
  operationId: "getOpenApiDocument",
  tags: ["Service"],
  summary: "This OpenAPI document",
  description:
    "The OpenAPI 3.1 document of this API, generated from the zod schemas the routes validate with. Its server is the origin it was requested from.",
  security: [],
  parameters: [parameter("RequestId")],
  responses: {
    200: {
      description: "The document",
      headers: headers("X-Request-Id", "X-Content-Type-Options"),
      content: {
        "application/json": {
          schema: { type: "object", description: "An OpenAPI 3.1 document" },
        },
      },
    },
    405: methodNotAllowed("GET", "POST"),
    500: INTERNAL,
  },
});

const docsPage = (): OperationObject => ({
  operationId: "getDocsPage",
  tags: ["Service"],
  summary: "This document as a web page",
  description:
    "An API reference of this document (Scalar), with search, schemas, code samples and a client that sends requests to this service. Its script, /docs/scalar/standalone.js, comes from this origin's static assets; nothing is loaded from elsewhere. API keys sent from it are refused with 403 like from any browser; access tokens work from origins listed on the app.",
  security: [],
  parameters: [parameter("RequestId")],
  responses: {
    200: {
      description: "The page",
      headers: {
        ...headers("X-Request-Id", "X-Content-Type-Options", "Referrer-Policy"),
        "Content-Security-Policy": {
          description:
            "default-src 'none'; the one script by its URL; styles inline (Scalar injects them); requests to this origin only; no base URI, no forms, no framing",
          required: true,
          schema: { type: "string" },
        },
      },
      content: { "text/html": { schema: { type: "string" } } },
    },
    405: methodNotAllowed("GET", "POST"),
    500: INTERNAL,
  },
});

// ---------------------------------------------------------------------------------------------
// The document

const DESCRIPTION = [
  "Creates Stripe Checkout Sessions for the tenants of apps. An app's server calls it with an API key, or a signed-in user's browser with an access token; the answer's data.checkout.nextAction.url is this service's payment page, which checks the caller's state and forwards the person to Stripe. Stripe's webhooks keep each checkout's status true.",
  "Every JSON response, success or failure, is the envelope { success, message, error, data }. On failure success is false, message and data are null, and error says what was wrong (which field, which header). An unknown path is 404 and a known path with another method 405 (with Allow), both in the envelope.",
  "Every response carries X-Request-Id: the request's own if it is at most 128 characters of A-Z a-z 0-9 _ - =, else a new one. Quote it when reporting a problem.",
  "API keys are for servers only: any request with an Origin header that carries an API key is 403. Browsers may call the create route without tenant and the read route with an access token from an origin listed on the app; CORS preflights (OPTIONS on /api/v1/…) are answered 204 for listed origins and 403 without CORS headers for others.",
].join("\n\n");

export function buildOpenApiDocument(): OpenApiDocument {
  return {
    openapi: "3.1.0",
    info: {
      title: "checkout-edge",
      version: API_VERSION,
      summary: "Stripe Checkout Sessions for the tenants of apps",
      description: DESCRIPTION,
    },
    tags: [
      { name: "Checkout sessions", description: "Create and read checkouts" },
      { name: "Payment page", description: "Where a person is sent to pay" },
      { name: "Webhooks", description: "Stripe tells the service what happened" },
      { name: "Service", description: "Liveness and this documentation" },
    ],
    paths: {
      "/api/v1/checkout-sessions": { post: createCheckout() },
      "/api/v1/tenants/{tenantId}/checkout-sessions": { post: createTenantCheckout() },
      "/api/v1/checkout-sessions/{id}": { get: readCheckout() },
      "/checkout/{hash}": { get: paymentPage() },
      "/api/v1/webhooks/stripe": { post: webhook() },
      "/healthz": { get: healthz() },
      "/openapi.json": { get: openApiJson() },
      "/docs": { get: docsPage() },
    },
    components: {
      schemas: {
        CreateCheckoutBody: jsonSchema(createCheckoutBodySchema),
        CreateCheckoutResponse: jsonSchema(createCheckoutResponseSchema),
        ReadCheckoutResponse: jsonSchema(readCheckoutResponseSchema),
        WebhookResponse: jsonSchema(webhookResponseSchema),
        HealthResponse: jsonSchema(healthResponseSchema),
        Failure: jsonSchema(failureEnvelopeSchema),
      },
      parameters: PARAMETERS,
      headers: HEADERS,
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

// Built once per isolate, on first use, and never changed afterwards.
let cachedDocument: OpenApiDocument | undefined;

export function openApiDocument(): OpenApiDocument {
  cachedDocument ??= buildOpenApiDocument();
  return cachedDocument;
}

/** The document as served: its one server is the origin it was requested from. */
export function documentForOrigin(origin: string): OpenApiDocument {
  const { openapi, info, ...rest } = openApiDocument();
  return { openapi, info, servers: [{ url: origin, description: "This service" }], ...rest };
}
