import { MESSAGES } from "../../messages.ts";
import { MAX_BODY_BYTES } from "../../middleware/limit-body.ts";
import { tenantParamSchema } from "../../schemas/checkout.ts";
import { sessionIdParamSchema } from "../../schemas/params.ts";
import {
  ACCESS_TOKEN,
  API_KEY,
  failure,
  headers,
  methodNotAllowed,
  parameter,
  ref,
  withCors,
} from "../components.ts";
import {
  BROWSER_KEY,
  CREATE_400,
  CREATE_401,
  CREATE_403,
  CREATE_409,
  CREATE_410,
  CREATE_415,
  INTERNAL,
  RATE_LIMITED,
  STRIPE_FAILURES,
  TOKEN_401,
} from "../error-examples.ts";
import { CREATE_CHECKOUT_EXAMPLES, CREATED_EXAMPLE, FOUND_EXAMPLE } from "../examples.ts";
import { pathParameters } from "../json-schema.ts";
import type { OperationObject, ResponseObject } from "../types.ts";

/** The checkout operations: create (with and without tenant) and read. */

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

export const createCheckout = (): OperationObject => ({
  operationId: "createCheckoutSession",
  tags: ["Checkout sessions"],
  summary: "Create a checkout session",
  description: `${CREATE_DESCRIPTION} With a write API key the checkout has no tenant; with an access token it is for the token's tenantId claim, if any, and records the token's sub as its creator (without a tenant, only tokens with that sub read it; the same state from another sub is 409). Browsers may call it with an access token from the origins listed on the app (CORS).`,
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
      missing: ["No credentials", MESSAGES.credentialsMissing(true)],
      ...CREATE_401,
      ...TOKEN_401,
    }),
    403: failure("Credentials that verify but may not do this", {
      ...CREATE_403,
      origin: ["A token from an origin the app does not list", MESSAGES.originNotAllowedForApp],
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

export const createTenantCheckout = (): OperationObject => ({
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
      missing: ["No credentials", MESSAGES.credentialsMissing(false)],
      ...CREATE_401,
    }),
    403: failure("Credentials that verify but may not do this", {
      token: ["An access token", MESSAGES.tokenOnKeyRoute],
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

export const readCheckout = (): OperationObject => ({
  operationId: "getCheckoutSession",
  tags: ["Checkout sessions"],
  summary: "Read a checkout session",
  description:
    "The stored record of one of the caller's app's checkouts and its status, kept true by Stripe's webhooks. An open checkout past its expiry reads as expired. Read and write API keys see every checkout of their app; an access token only those of its own tenant, whoever created them (a token without tenantId, only the checkouts without a tenant that a token with its own sub created: none without a sub). Another app's, tenant's or user's checkout is 404, exactly as an unknown id. Never returns the state, its digest or Stripe's own URL. Browsers may call it with an access token from the origins listed on the app (CORS).",
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
      missing: ["No credentials", MESSAGES.credentialsMissing(true)],
      ...CREATE_401,
      ...TOKEN_401,
    }),
    403: failure("Credentials that verify but may not do this", {
      browser: BROWSER_KEY,
      origin: ["A token from an origin the app does not list", MESSAGES.originNotAllowedForApp],
      disabled: ["App disabled", MESSAGES.appDisabled],
    }),
    404: failure("No checkout with this id that the caller may see", {
      notFound: ["Unknown, or another app's or tenant's", MESSAGES.checkoutNotFound],
    }),
    405: methodNotAllowed("GET", "POST"),
    429: RATE_LIMITED,
    500: INTERNAL,
  }),
});
