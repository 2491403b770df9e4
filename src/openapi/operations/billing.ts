import { MESSAGES, STRIPE_OPERATIONS } from "../../messages.ts";
import { MAX_BODY_BYTES } from "../../middleware/limit-body.ts";
import { tenantParamSchema } from "../../schemas/checkout.ts";
import { BILLING_EXAMPLE, PORTAL_BODY_EXAMPLES, PORTAL_EXAMPLE } from "../billing-examples.ts";
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
  CREATE_401,
  INTERNAL,
  STRIPE_FAILURES,
  TOKEN_401,
} from "../error-examples.ts";
import { pathParameters } from "../json-schema.ts";
import type { OperationObject } from "../types.ts";

/** The tenant billing operations: the billing state, and a customer-portal session. */

const TENANT_401 = failure("No credentials, or credentials that do not verify", {
  missing: ["No credentials", MESSAGES.credentialsMissing(true)],
  ...CREATE_401,
  ...TOKEN_401,
});

const PORTAL_RATE_LIMITED = failure(
  "Rate limited: too many portal sessions for this credential (API key, or app, tenant and user of a token) or from this client address, counted apart from checkout sessions, or too many failed credential checks from this address, within 60 seconds. Retry after Retry-After seconds.",
  {
    perCredential: [
      "Per credential",
      MESSAGES.rateLimited("portal sessions for this credential", 60),
    ],
    perAddress: [
      "Per client address",
      MESSAGES.rateLimited("portal sessions from this address", 60),
    ],
    failedCredentials: [
      "Failed credential checks",
      MESSAGES.rateLimited("failed credential checks from this address", 60),
    ],
  },
  ["Retry-After"],
);

const OTHER_TENANT: [string, string] = [
  "A token of another tenant, or of none",
  MESSAGES.tokenOtherTenant,
];

export const getTenantBilling = (): OperationObject => ({
  operationId: "getTenantBilling",
  tags: ["Billing"],
  summary: "Read a tenant's billing state",
  description:
    "What the app needs to decide what a tenant may use: its Stripe customer, its subscriptions of this app and mode, its latest invoices (at most 12, newest first), paidUntil (the latest period end of an active or trialing subscription) and paymentFailed (the latest invoice failed and is not paid yet). Kept true by Stripe's webhooks, each object re-fetched from Stripe, and by a reconciliation that reads subscriptions again at their period's end. A tenant with nothing, or one of another app, is the same shape, empty (not 404). Read or write API keys see any tenant of their app; an access token only its own tenant.",
  security: [API_KEY("read", "write"), ACCESS_TOKEN],
  parameters: [
    ...pathParameters(tenantParamSchema),
    {
      name: "test",
      in: "query",
      description: "true: test mode; false (the default): live mode",
      required: false,
      schema: { type: "string", enum: ["true", "false"] },
    },
    parameter("RequestId"),
  ],
  responses: withCors({
    200: {
      description: "The tenant's billing state",
      headers: headers("X-Request-Id"),
      content: {
        "application/json": {
          schema: ref("schemas", "BillingResponse"),
          examples: BILLING_EXAMPLE,
        },
      },
    },
    400: failure("A tenantId that is no UUID, or a bad query", {
      tenantId: ["tenantId not a UUID", "tenantId in the path must be a UUID"],
      test: ["test neither true nor false", "test must be true or false"],
      unknown: ["An unknown query parameter", "Unknown query parameter: mode"],
    }),
    401: TENANT_401,
    403: failure("Credentials that verify but may not see this tenant", {
      otherTenant: OTHER_TENANT,
      browser: BROWSER_KEY,
      disabled: ["App disabled", MESSAGES.appDisabled],
    }),
    405: methodNotAllowed("GET", "POST"),
    500: INTERNAL,
  }),
});

export const createPortalSession = (): OperationObject => ({
  operationId: "createPortalSession",
  tags: ["Billing"],
  summary: "Open Stripe's customer portal for a tenant",
  description: `Creates a Stripe billing-portal session for the tenant's Stripe customer (known from its first completed checkout), which returns the person to the app's portalReturnUrl. With flow, the portal opens at one task: a new payment method, or cancelling or changing a subscription (subscriptionId, else the tenant's current one). Write API keys, or an access token of that tenant. Stripe opens no portal in a mode and account whose customer portal settings were never saved in its Dashboard: that is 409, naming the mode and account. Rate limited like the create routes, counted apart (429). Stripe failing is 502/503/504, as on the create route. Body: JSON, at most ${MAX_BODY_BYTES} bytes.`,
  security: [API_KEY("write"), ACCESS_TOKEN],
  parameters: [...pathParameters(tenantParamSchema), parameter("RequestId")],
  requestBody: {
    description: "What the portal is for; {} opens its home in live mode",
    required: true,
    content: {
      "application/json": { schema: ref("schemas", "PortalBody"), examples: PORTAL_BODY_EXAMPLES },
    },
  },
  responses: withCors({
    200: {
      description: "The portal: send the tenant's person to data.portal.url",
      headers: headers("X-Request-Id"),
      content: {
        "application/json": { schema: ref("schemas", "PortalResponse"), examples: PORTAL_EXAMPLE },
      },
    },
    400: failure("Invalid input, or Stripe refusing the request", {
      flow: [
        "An unknown flow",
        "flow must be one of payment_method_update, subscription_cancel, subscription_update",
      ],
      unknown: ["An unknown field", "Unknown field in body: returnUrl"],
      stripe: [
        "Stripe refused the request",
        MESSAGES.stripeRefused(
          STRIPE_OPERATIONS.createPortalSession.what,
          null,
          "No such customer: 'cus_gone'",
        ),
      ],
    }),
    401: TENANT_401,
    403: failure("Credentials that verify but may not do this, or an app without a return URL", {
      readKey: ["A read key", MESSAGES.readKey],
      otherTenant: OTHER_TENANT,
      returnUrl: ["App without a portal return URL", MESSAGES.portalNoReturnUrl],
      live: ["Live mode not enabled", MESSAGES.liveNotEnabled],
    }),
    404: failure("A subscriptionId that is not one of the tenant's", {
      subscription: ["Not the tenant's subscription", MESSAGES.subscriptionNotFound],
    }),
    405: methodNotAllowed("POST", "GET"),
    409: failure(
      "No customer yet, no current subscription for a subscription flow, or the customer portal's settings never saved at Stripe in this mode (the operator saves them in the Stripe Dashboard)",
      {
        customer: ["No customer yet", MESSAGES.portalNoCustomer("test")],
        subscription: ["No current subscription", MESSAGES.portalNoSubscription("test")],
        portalSettings: [
          "The portal's settings not saved at Stripe",
          MESSAGES.portalNotConfigured("test", null),
        ],
        portalSettingsConnected: [
          "The portal's settings not saved in the app's connected account",
          MESSAGES.portalNotConfigured("live", "acct_1ExampleConnected"),
        ],
      },
    ),
    415: failure("The body is labelled with another type than JSON", {
      contentType: ["Not JSON", MESSAGES.unsupportedBodyType],
    }),
    429: PORTAL_RATE_LIMITED,
    500: INTERNAL,
    ...STRIPE_FAILURES,
  }),
});
