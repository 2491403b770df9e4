import { portalBodySchema } from "../schemas/billing.ts";
import { createCheckoutBodySchema } from "../schemas/checkout.ts";
import {
  billingResponseSchema,
  createCheckoutResponseSchema,
  failureEnvelopeSchema,
  healthResponseSchema,
  portalResponseSchema,
  readCheckoutResponseSchema,
  webhookResponseSchema,
} from "../schemas/responses.ts";
import { HEADERS, PARAMETERS, SECURITY_SCHEMES } from "./components.ts";
import { jsonSchema } from "./json-schema.ts";
import { createPortalSession, getTenantBilling } from "./operations/billing.ts";
import { createCheckout, createTenantCheckout, readCheckout } from "./operations/checkouts.ts";
import { docsPage, healthz, openApiJson, paymentPage, webhook } from "./operations/service.ts";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from "./operations/webhook-endpoints.ts";
import {
  listWebhookDeliveries,
  listWebhookEvents,
  outboundWebhooks,
  redeliverWebhookEvent,
} from "./operations/webhook-events.ts";
import type { OpenApiDocument } from "./types.ts";
import { webhookSchemas } from "./webhook-schemas.ts";

/** package.json's version; test/node/openapi.test.ts checks that the two agree. */
export const API_VERSION = "0.1.0";

const DESCRIPTION = [
  "Creates Stripe Checkout Sessions for the tenants of apps. An app's server calls it with an API key, or a signed-in user's browser with an access token; the answer's data.checkout.nextAction.url is this service's payment page, which checks the caller's state and forwards the person to Stripe. Stripe's webhooks keep each checkout's status true.",
  "Every JSON response, success or failure, is the envelope { success, message, error, data }. On failure success is false, message and data are null, and error says what was wrong (which field, which header). An unknown path is 404 and a known path with another method 405 (with Allow), both in the envelope.",
  "Every response carries X-Request-Id: the request's own if it is at most 128 characters of A-Z a-z 0-9 _ - =, else a new one. Quote it when reporting a problem.",
  "The app hears what happened without polling: its webhook endpoints (API keys only) receive each event as a signed POST (Standard Webhooks), retried for about three days; the events and every delivery attempt can be listed, and an event sent again. What the POSTs look like: the webhooks of this document.",
  "API keys are for servers only: any request with an Origin header that carries an API key is 403. Browsers may call the create route without tenant and the read route with an access token from an origin listed on the app; CORS preflights (OPTIONS on /api/v1/…) are answered 204 for listed origins and 403 without CORS headers for others.",
].join("\n\n");

function buildOpenApiDocument(): OpenApiDocument {
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
      {
        name: "Billing",
        description: "A tenant's billing state after the checkout, and its portal",
      },
      {
        name: "Webhook endpoints",
        description: "Where the service POSTs the app's events (API keys only)",
      },
      {
        name: "Webhook events",
        description: "What the app was told, every attempt, and sending an event again",
      },
      {
        name: "Events to your app",
        description:
          "The webhooks: the signed POSTs the service makes to the app's endpoints, one per event type",
      },
      { name: "Webhooks", description: "Stripe tells the service what happened" },
      { name: "Service", description: "Liveness and this documentation" },
    ],
    paths: {
      "/api/v1/checkout-sessions": { post: createCheckout() },
      "/api/v1/tenants/{tenantId}/checkout-sessions": { post: createTenantCheckout() },
      "/api/v1/checkout-sessions/{id}": { get: readCheckout() },
      "/api/v1/tenants/{tenantId}/billing": { get: getTenantBilling() },
      "/api/v1/tenants/{tenantId}/portal-sessions": { post: createPortalSession() },
      "/api/v1/webhook-endpoints": { post: createWebhookEndpoint(), get: listWebhookEndpoints() },
      "/api/v1/webhook-endpoints/{id}": {
        get: getWebhookEndpoint(),
        patch: updateWebhookEndpoint(),
        delete: deleteWebhookEndpoint(),
      },
      "/api/v1/webhook-endpoints/{id}/rotate-secret": { post: rotateWebhookSecret() },
      "/api/v1/webhook-events": { get: listWebhookEvents() },
      "/api/v1/webhook-deliveries": { get: listWebhookDeliveries() },
      "/api/v1/webhook-events/{id}/redeliver": { post: redeliverWebhookEvent() },
      "/checkout/{hash}": { get: paymentPage() },
      "/api/v1/webhooks/stripe": { post: webhook() },
      "/healthz": { get: healthz() },
      "/openapi.json": { get: openApiJson() },
      "/docs": { get: docsPage() },
    },
    webhooks: outboundWebhooks(),
    components: {
      schemas: {
        CreateCheckoutBody: jsonSchema(createCheckoutBodySchema),
        CreateCheckoutResponse: jsonSchema(createCheckoutResponseSchema),
        ReadCheckoutResponse: jsonSchema(readCheckoutResponseSchema),
        WebhookResponse: jsonSchema(webhookResponseSchema),
        HealthResponse: jsonSchema(healthResponseSchema),
        BillingResponse: jsonSchema(billingResponseSchema),
        PortalBody: jsonSchema(portalBodySchema),
        PortalResponse: jsonSchema(portalResponseSchema),
        ...webhookSchemas(),
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
