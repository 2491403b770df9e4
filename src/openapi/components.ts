import { failureEnvelope } from "../errors.ts";
import { CHECKOUT_HASH_PATTERN, STATE_PATTERN } from "../schemas/checkout.ts";
import type {
  ExampleObject,
  HeaderObject,
  ParameterObject,
  Ref,
  ResponseObject,
  SecurityRequirement,
} from "./types.ts";

/** The parts the operations share: headers, parameters, credentials and answer shapes. */

export const ref = (kind: "schemas" | "parameters" | "headers", name: string): Ref => ({
  $ref: `#/components/${kind}/${name}`,
});

export const HEADERS = {
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

export type HeaderName = keyof typeof HEADERS;
export const headers = (...names: HeaderName[]): Record<string, Ref> =>
  Object.fromEntries(names.map((name) => [name, ref("headers", name)]));

export const PARAMETERS = {
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

export const parameter = (name: keyof typeof PARAMETERS) => ref("parameters", name);

export const SECURITY_SCHEMES = {
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
      "Authorization: Bearer <access token> (the word Bearer in any case). An RS256 JWT signed by the key whose public key is stored on the app (none, HS* and every other algorithm are refused), with the claims aud (the app's UUID, or an array of exactly that one), iss (the issuer configured for the app), exp (required), nbf and iat (checked when present; 30 s clock skew allowed for all three) and tenantId (optional, a UUID: the tenant the checkout is for; such a token sees only its tenant's checkouts; without it, a token sees only the checkouts created by tokens with its own sub). The app is the one named by X-CLIENT-ID if sent, else by aud. Never together with X-API-KEY (401).",
  },
} as const;

export const API_KEY = (...roles: string[]): SecurityRequirement => ({
  apiKey: roles,
  apiKeyType: [],
  clientId: [],
});
export const ACCESS_TOKEN: SecurityRequirement = { accessToken: [] };

export type ErrorExamples = Record<string, [summary: string, error: string]>;

export function failure(
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

export function methodNotAllowed(allowed: string, other: string): ResponseObject {
  return failure(
    `Not for ${allowed}: any other method on this path is answered 405, with Allow: ${allowed}`,
    { method: [`${other} on this path`, `Method ${other} is not allowed here; use ${allowed}`] },
    ["Allow"],
  );
}

const CORS_HEADERS: HeaderName[] = [
  "Access-Control-Allow-Origin",
  "Access-Control-Expose-Headers",
  "Vary",
];

/** Token routes answer browsers of the app's origins with CORS headers, failures included. */
export function withCors(
  responses: Record<string, ResponseObject>,
): Record<string, ResponseObject> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      { ...response, headers: { ...response.headers, ...headers(...CORS_HEADERS) } },
    ]),
  );
}

export const html = (description: string, extraHeaders: HeaderName[] = []): ResponseObject => ({
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
