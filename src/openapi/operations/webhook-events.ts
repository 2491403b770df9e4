import { MESSAGES } from "../../messages.ts";
import {
  eventParamSchema,
  listDeliveriesQuerySchema,
  listEventsQuerySchema,
  OUTBOUND_EVENT_TYPES,
  type OutboundEventType,
} from "../../schemas/outbound.ts";
import { OBJECT_KIND_OF } from "../../schemas/outbound-views.ts";
import { type ErrorExamples, failure, methodNotAllowed, parameter, ref } from "../components.ts";
import {
  CREATE_415,
  FAILED_CREDENTIALS_LIMITED,
  INTERNAL,
  KEY_ONLY_401,
  KEY_ONLY_403,
} from "../error-examples.ts";
import { pathParameters, queryParameters } from "../json-schema.ts";
import type { OperationObject, ParameterObject, PathItemObject } from "../types.ts";
import { EXAMPLE_SIGNATURES, OUTBOUND_EVENT_EXAMPLES } from "../webhook-event-examples.ts";
import {
  DELIVERY_LIST_EXAMPLE,
  EVENT_LIST_EXAMPLE,
  EXAMPLE_SIGNING_SECRET,
  REDELIVER_BODY_EXAMPLES,
  REDELIVERING_EXAMPLE,
} from "../webhook-examples.ts";
import {
  answer,
  BODY_400,
  jsonBody,
  READERS,
  WHO_READS,
  WHO_WRITES,
  WRITERS,
} from "./webhook-endpoints.ts";

/**
 * What the app was told: its events, each delivery with its attempts, sending an event again;
 * and the document's webhooks, the POSTs the service makes to the app's endpoints.
 */

const TAG = "Webhook events";

const PAGE_400: ErrorExamples = {
  limit: ["limit not a whole number", "limit must be a whole number from 1 to 100"],
  range: ["limit out of range", "limit must be from 1 to 100"],
  cursor: ["A cursor this API did not give out", MESSAGES.cursorInvalid],
};

export const listWebhookEvents = (): OperationObject => ({
  operationId: "listWebhookEvents",
  tags: [TAG],
  summary: "List the app's events",
  description: `The app's events of one mode, oldest first, each exactly as it is POSTed to the endpoints (the body of the webhooks below): to catch up after a receiver was down, or to check that nothing was missed. Events are recorded whether or not an endpoint takes them. since: only those created at or after it; type: only those of one type; a page has at most limit events, and nextCursor (else null) gives the next one. Events are kept 30 days (WEBHOOK_RETENTION_DAYS). ${WHO_READS}`,
  security: READERS,
  parameters: [...queryParameters(listEventsQuerySchema), parameter("RequestId")],
  responses: {
    200: answer("A page of events", "WebhookEventListResponse", EVENT_LIST_EXAMPLE),
    400: failure("A bad query", {
      test: ["test neither true nor false", "test must be true or false"],
      since: ["since not a time", "since must be a time in ISO 8601 (2026-12-01T10:00:00Z)"],
      type: ["An unknown event type", `type must be one of ${OUTBOUND_EVENT_TYPES.join(", ")}`],
      ...PAGE_400,
      unknown: ["An unknown query parameter", "Unknown query parameter: endpointId"],
    }),
    401: KEY_ONLY_401,
    403: failure("Credentials that verify but may not do this", KEY_ONLY_403),
    405: methodNotAllowed("GET", "POST"),
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});

export const listWebhookDeliveries = (): OperationObject => ({
  operationId: "listWebhookDeliveries",
  tags: [TAG],
  summary: "List the deliveries of an event or to an endpoint",
  description: `The deliveries of one event (eventId) or to one endpoint (endpointId): exactly one of the two. A delivery is one event to one endpoint: pending while it is sent or waits for its next attempt (nextAttemptAt), delivered after a 2xx, dead after its last attempt failed (redeliver it), canceled when its endpoint was disabled first. Newest first, each with its attempts, newest first (at most 50): when, the status code, how long, what failed and the start of the answer. An unknown id, or another app's, lists nothing. ${WHO_READS}`,
  security: READERS,
  parameters: [...queryParameters(listDeliveriesQuerySchema), parameter("RequestId")],
  responses: {
    200: answer("A page of deliveries", "WebhookDeliveryListResponse", DELIVERY_LIST_EXAMPLE),
    400: failure("A bad query", {
      which: [
        "Neither or both of eventId and endpointId",
        "Give exactly one of eventId and endpointId",
      ],
      eventId: ["A malformed eventId", "eventId must be a webhook event id (evt_…)"],
      endpointId: ["A malformed endpointId", "endpointId must be a webhook endpoint id (we_…)"],
      ...PAGE_400,
      unknown: ["An unknown query parameter", "Unknown query parameter: test"],
    }),
    401: KEY_ONLY_401,
    403: failure("Credentials that verify but may not do this", KEY_ONLY_403),
    405: methodNotAllowed("GET", "POST"),
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});

export const redeliverWebhookEvent = (): OperationObject => ({
  operationId: "redeliverWebhookEvent",
  tags: [TAG],
  summary: "Send an event again",
  description: `Sends one of the app's events again, with the same webhook-id and body (signed anew): to the endpoint named by endpointId, or without it to every enabled endpoint of the event's mode that takes its type. Each gets a new round of attempts with the whole retry schedule, due now; one still pending starts over. For a dead delivery once the receiver is fixed, or for an endpoint registered after the event. Answers 202 with the deliveries; the POSTs follow within seconds (list the deliveries to see them). The body is optional: none at all, or {}, is every endpoint. ${WHO_WRITES}`,
  security: WRITERS,
  parameters: [...pathParameters(eventParamSchema), parameter("RequestId")],
  requestBody: {
    ...jsonBody("Where to send it; optional.", "RedeliverBody", REDELIVER_BODY_EXAMPLES),
    required: false,
  },
  responses: {
    202: answer(
      "Handed to the delivery queue: the new rounds",
      "RedeliverResponse",
      REDELIVERING_EXAMPLE,
    ),
    400: failure("A malformed id, an invalid body, JSON or size", {
      id: ["Malformed id", "id in the path must be a webhook event id (evt_…)"],
      endpointId: ["A malformed endpointId", "endpointId must be a webhook endpoint id (we_…)"],
      unknown: ["An unknown field", "Unknown field in body: eventTypes"],
      ...BODY_400,
    }),
    401: KEY_ONLY_401,
    403: failure("Credentials that verify but may not do this", {
      readKey: ["A read key", MESSAGES.readKey],
      ...KEY_ONLY_403,
    }),
    404: failure("No such event, or no such endpoint, of the caller's app", {
      event: ["Unknown event, or another app's", MESSAGES.webhookEventNotFound],
      endpoint: ["Unknown endpointId, or another app's", MESSAGES.endpointNotFound],
    }),
    405: methodNotAllowed("POST", "GET"),
    409: failure("Nowhere to send it: the endpoint cannot take the event, or no endpoint can", {
      disabled: ["The endpoint is disabled", MESSAGES.endpointDisabled],
      type: [
        "The endpoint does not take the event's type",
        MESSAGES.endpointSkipsType("checkout.completed"),
      ],
      mode: ["The endpoint is of the other mode", MESSAGES.endpointNotInMode("live")],
      none: [
        "No enabled endpoint takes the event",
        MESSAGES.noEndpointForEvent("checkout.completed", "test"),
      ],
    }),
    415: CREATE_415,
    429: FAILED_CREDENTIALS_LIMITED,
    500: INTERNAL,
  },
});

/* The webhooks: one entry per event type, each the POST the service makes to an endpoint. */

const WHEN: Record<OutboundEventType, string> = {
  "checkout.completed":
    "A checkout was completed at Stripe: the person finished it. For cards the payment is through as well (checkout.payment_succeeded follows at once); for SEPA Direct Debit paymentStatus is unpaid until checkout.payment_succeeded or checkout.payment_failed, days later. A setup checkout has paymentStatus no_payment_required.",
  "checkout.payment_succeeded":
    "A completed checkout's payment is paid: at its completion, or later when a delayed payment method (SEPA Direct Debit) went through.",
  "checkout.payment_failed":
    "A completed checkout's delayed payment (SEPA Direct Debit) failed: paymentStatus failed.",
  "checkout.expired":
    "A checkout that was not completed can no longer be paid: Stripe expired it, or it passed expiresAt.",
  "payment.refunded":
    "A one-time payment was refunded at Stripe, wholly or in part (each time the refunded amount grows): object.refund says how much so far, paymentStatus refunded or partially_refunded.",
  "subscription.created":
    "The service learned of a new subscription of the tenant (read again from Stripe).",
  "payment.refund_failed":
    "A refund of a one-time payment failed at Stripe after it was made (each time the refunded amount goes down): object.refund says how much stays refunded, paymentStatus is paid again or partially_refunded.",
  "subscription.updated":
    "A subscription changed in a field the object shows: status, price, quantity, its period, cancelAtPeriodEnd, cancelAt, billingMode, canceledAt, endedAt or trialEnd.",
  "subscription.canceled": "A subscription ended for good: status canceled or incomplete_expired.",
  "invoice.paid": "An invoice was paid: a subscription's first payment or a renewal.",
  "invoice.payment_failed":
    "An attempt to pay an invoice failed (attemptCount grew and it is not paid): Stripe may try again; the tenant's billing state says paymentFailed.",
};

const SENDING = [
  "One event per POST, as JSON (Content-Type: application/json, User-Agent: checkout-edge-webhooks/1), to every enabled endpoint of the app in the event's mode that takes its type, signed per Standard Webhooks (standardwebhooks.com, whose libraries verify it). Verify the signature over the raw body before parsing it.",
  "Answer with a 2xx within 15 seconds and do slow work afterwards: anything else is tried again. Delivery is at least once and the order is not guaranteed: process each webhook-id once, and of two events of one object keep the state with the higher object.sequence. Events are thin; the checkout and billing routes read more.",
  `The examples' headers are real: the example body, as compact JSON, signed with the secret ${EXAMPLE_SIGNING_SECRET} (a verifier that checks the timestamp's age must be told to skip that).`,
].join("\n\n");

function webhookHeaders(type: OutboundEventType): ParameterObject[] {
  const [, event] = OUTBOUND_EVENT_EXAMPLES[type];
  const { timestamp, signature } = EXAMPLE_SIGNATURES[type];
  return [
    {
      name: "webhook-id",
      in: "header",
      description:
        "The event's id (evt_…), the same on every attempt and redelivery: process each id once",
      required: true,
      schema: { type: "string", pattern: "^evt_[0-9a-f]{32}$" },
      example: event.id,
    },
    {
      name: "webhook-timestamp",
      in: "header",
      description:
        "When this attempt was signed, in Unix seconds; refuse one too far from your clock (the Standard Webhooks libraries allow 5 minutes) so that a recorded request cannot be replayed later",
      required: true,
      schema: { type: "string", pattern: "^[0-9]+$" },
      example: String(timestamp),
    },
    {
      name: "webhook-signature",
      in: "header",
      description:
        "`v1,` and the base64 of the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the endpoint's secret (the bytes of the base64 after `whsec_`). For 24 hours after a rotation one such signature per secret still signing, space separated: accept the request if any of them matches (compare in constant time)",
      required: true,
      schema: { type: "string", pattern: "^v1,[A-Za-z0-9+/]+=*( v1,[A-Za-z0-9+/]+=*)*$" },
      example: signature,
    },
  ];
}

function webhook(type: OutboundEventType): PathItemObject {
  const [summary, value] = OUTBOUND_EVENT_EXAMPLES[type];
  const kind = OBJECT_KIND_OF[type];
  return {
    post: {
      operationId: `${type.replace(/[._]([a-z])/g, (_, c: string) => c.toUpperCase())}Webhook`,
      tags: ["Events to your app"],
      summary: type,
      description: `${WHEN[type]} The object is the ${kind} (object.kind ${kind}) as it is after the change.\n\n${SENDING}`,
      security: [],
      parameters: webhookHeaders(type),
      requestBody: {
        description: `The event: type ${type}, object.kind ${kind}`,
        required: true,
        content: {
          "application/json": {
            schema: ref("schemas", "OutboundEvent"),
            examples: { [type]: { summary, value } },
          },
        },
      },
      responses: {
        "2XX": {
          description:
            "Delivered: any 2xx within 15 seconds (WEBHOOK_TIMEOUT_MS). The answer's body is not read beyond its first 256 characters, which the delivery log keeps.",
        },
        default: {
          description:
            "Failed: any other status (a 3xx redirect is not followed), no answer within 15 seconds, or no connection. Tried again after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (WEBHOOK_RETRY_SECONDS: ten attempts in about three days), then the delivery is dead: redeliver it with POST /api/v1/webhook-events/{id}/redeliver. An endpoint whose every attempt failed for 5 days is disabled.",
        },
      },
    },
  };
}

/** The document's webhooks: what each endpoint receives, by event type. */
export function outboundWebhooks(): Record<string, PathItemObject> {
  return Object.fromEntries(OUTBOUND_EVENT_TYPES.map((type) => [type, webhook(type)]));
}
