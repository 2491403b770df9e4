import { MESSAGES } from "../../messages.ts";
import { MAX_WEBHOOK_BYTES } from "../../middleware/limit-body.ts";
import { failure, headers, html, methodNotAllowed, parameter, ref } from "../components.ts";
import { INTERNAL, MISCONFIGURED, STRIPE_FAILURES } from "../error-examples.ts";
import { HEALTH_EXAMPLE, WEBHOOK_EVENT_EXAMPLE, WEBHOOK_RESPONSE_EXAMPLES } from "../examples.ts";
import type { OperationObject } from "../types.ts";
/** The payment page, Stripe's webhooks, and the service's own routes. */

export const paymentPage = (): OperationObject => ({
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

export const webhook = (): OperationObject => ({
  operationId: "receiveStripeWebhook",
  tags: ["Webhooks"],
  summary: "Receive Stripe's webhook events",
  description:
    "The endpoint for Stripe's webhooks (test and live, Connect events included) with the events checkout.session.completed, checkout.session.async_payment_succeeded, checkout.session.async_payment_failed and checkout.session.expired, and the billing events customer.subscription.created|updated|deleted|paused|resumed, invoice.paid|payment_failed|finalized|voided|marked_uncollectible and charge.refunded (each object read again from Stripe). The raw body is verified with Stripe's SDK against the signing secrets of the account endpoints (test and live) and of the Connect endpoints (test and live, optional): the event's livemode must match the secret that signed it, and it carries `account` exactly when a Connect endpoint's secret signed it; anything else is 400 and changes nothing. An event of a mode, or of a connected account, whose secret is not configured is 500 naming the secret, so Stripe delivers it again once the operator has set it. Each event id takes effect once (a replay is 200 and changes nothing); events may come in any order and never move a record back (completed never becomes expired). Other event types: 200, ignored. A failure answers 5xx so that Stripe delivers the event again.",
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
      signature: ["Any signature failure", MESSAGES.invalidSignature],
      size: ["Body too large", MESSAGES.bodyTooLarge(MAX_WEBHOOK_BYTES)],
    }),
    405: methodNotAllowed("POST", "GET"),
    409: failure("Not yet: a refund of a checkout whose completion is not recorded yet", {
      refund: ["A refund before its checkout's completion", MESSAGES.refundBeforeCompletion],
    }),
    500: failure("Our fault, including missing webhook secrets", {
      secrets: ["No webhook secret configured", MESSAGES.webhookSecretsMissing],
      secret: [
        "The secret of the event's mode is not configured",
        MESSAGES.webhookSecretMissing("STRIPE_WEBHOOK_SECRET_LIVE", "live"),
      ],
      connectSecret: [
        "A connected account's event, and the Connect secret of its mode is not configured",
        MESSAGES.connectWebhookSecretMissing("STRIPE_CONNECT_WEBHOOK_SECRET_TEST", "test"),
      ],
      ...MISCONFIGURED,
    }),
    ...STRIPE_FAILURES,
  },
});

export const healthz = (): OperationObject => ({
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

export const openApiJson = (): OperationObject => ({
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

export const docsPage = (): OperationObject => ({
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
