import type * as z from "zod";
import { successEnvelope } from "../errors.ts";
import type {
  createEndpointBodySchema,
  OutboundEventType,
  RedeliverBody,
  updateEndpointBodySchema,
} from "../schemas/outbound.ts";
import type { DeliveryView, EndpointView, EndpointWithSecret } from "../schemas/outbound-views.ts";
import type { ExampleObject } from "./types.ts";
import { EVENT_ID, OUTBOUND_EVENT_EXAMPLES } from "./webhook-event-examples.ts";

/*
 * Examples of the outbound webhook operations and of the events POSTed to endpoints. One made-up
 * app whose tenant paid the checkout of examples.ts and subscribed with the ids of
 * billing-examples.ts. The endpoint URLs are on a public-looking host, as the no-SSRF rules
 * want; with your own server use its URL.
 */

const example = <T>(summary: string, description: string, value: T) => ({
  summary,
  description,
  value,
});

const HOOKS = "https://hooks.example.com/checkout-edge";

/** The endpoint's signing secret: the webhook examples' signatures are made with it. */
export const EXAMPLE_SIGNING_SECRET = "whsec_xB8YYEcN20pwt+23jo0cBXMjmwz3PKjHlyjAEiHFfKc=";
const ROTATED_SECRET = "whsec_AARac8+5pb+ndu6kl29XJOzD4nUs8xj9n6foD7T8fs4=";
const ENDPOINT_ID = "we_CtqzTwclS0Hrbkykz5P5Rtq4";
const BILLING_ENDPOINT_ID = "we_xq2ItX3w4rv6GbJbP4ADGneg";

const BILLING_TYPES: OutboundEventType[] = [
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "invoice.paid",
  "invoice.payment_failed",
];

type CreateBody = z.input<typeof createEndpointBodySchema>;
type UpdateBody = z.input<typeof updateEndpointBodySchema>;

export const CREATE_ENDPOINT_EXAMPLES = {
  all: example<CreateBody>(
    "Every event type (test mode)",
    "Test-mode events of every type, to a staging server.",
    { url: HOOKS, test: true, description: "Staging server" },
  ),
  billing: example<CreateBody>(
    "Only subscriptions and invoices (test mode)",
    "A second endpoint that takes only the billing events.",
    {
      url: `${HOOKS}/billing`,
      test: true,
      eventTypes: BILLING_TYPES,
      description: "Billing worker",
    },
  ),
  live: example<CreateBody>(
    "Checkout events in live mode",
    "Live mode (test left out); the app's live mode must be enabled.",
    {
      url: HOOKS,
      eventTypes: ["checkout.completed", "checkout.payment_succeeded", "payment.refunded"],
    },
  ),
} satisfies Record<string, ExampleObject>;

export const UPDATE_ENDPOINT_EXAMPLES = {
  disable: example<UpdateBody>(
    "Stop sending",
    "Nothing is sent to it until it is enabled again; its pending deliveries are canceled.",
    { enabled: false },
  ),
  enable: example<UpdateBody>(
    "Send again",
    "Enabled again (also one disabled for failing), its failures forgotten.",
    { enabled: true },
  ),
  types: example<UpdateBody>(
    "Every event type, a new note",
    "eventTypes null: every type, also ones added later.",
    { eventTypes: null, description: "Staging server, all events" },
  ),
  url: example<UpdateBody>(
    "Move it",
    "A new URL, checked by the same rules as at registration; the secret stays.",
    { url: `${HOOKS}/v2` },
  ),
} satisfies Record<string, ExampleObject>;

const endpoint: EndpointView = {
  id: ENDPOINT_ID,
  url: HOOKS,
  livemode: false,
  description: "Staging server",
  eventTypes: null,
  status: "enabled",
  disabled: null,
  failingSince: null,
  consecutiveFailures: 0,
  lastSuccessAt: null,
  previousSecretValidUntil: null,
  createdAt: "2026-11-20T09:00:00.000Z",
  updatedAt: "2026-11-20T09:00:00.000Z",
};

const delivering: EndpointView = {
  ...endpoint,
  lastSuccessAt: "2026-11-25T10:20:05.000Z",
};

const failingDisabled: EndpointView = {
  ...endpoint,
  id: BILLING_ENDPOINT_ID,
  url: `${HOOKS}/billing`,
  description: "Billing worker",
  eventTypes: BILLING_TYPES,
  status: "disabled",
  disabled: { reason: "failing", at: "2026-11-27T14:02:41.000Z" },
  failingSince: "2026-11-22T14:01:37.000Z",
  consecutiveFailures: 31,
  lastSuccessAt: "2026-11-22T13:55:02.000Z",
};

export const ENDPOINT_CREATED_EXAMPLE = {
  created: example(
    "Created",
    "The new endpoint with its signing secret: store the secret now, it is never shown again.",
    successEnvelope("Webhook endpoint created", {
      endpoint: { ...endpoint, secret: EXAMPLE_SIGNING_SECRET } satisfies EndpointWithSecret,
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const SECRET_ROTATED_EXAMPLE = {
  rotated: example(
    "Rotated",
    "The new secret; the replaced one signs every event too until previousSecretValidUntil.",
    successEnvelope("Webhook signing secret rotated", {
      endpoint: {
        ...delivering,
        previousSecretValidUntil: "2026-12-02T08:30:00.000Z",
        updatedAt: "2026-12-01T08:30:00.000Z",
        secret: ROTATED_SECRET,
      } satisfies EndpointWithSecret,
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const ENDPOINT_LIST_EXAMPLE = {
  two: example(
    "Two endpoints, one disabled for failing",
    "The second has failed every attempt for 5 days; PATCH it with enabled: true once it answers again.",
    successEnvelope("Webhook endpoints found", { endpoints: [delivering, failingDisabled] }),
  ),
  none: example(
    "None yet",
    "No endpoint in this mode.",
    successEnvelope("Webhook endpoints found", { endpoints: [] }),
  ),
} satisfies Record<string, ExampleObject>;

export const ENDPOINT_FOUND_EXAMPLE = {
  delivering: example(
    "Delivering",
    "Its last attempt succeeded.",
    successEnvelope("Webhook endpoint found", { endpoint: delivering }),
  ),
  failing: example(
    "Failing",
    "Every attempt since failingSince failed; after 5 days of that it is disabled.",
    successEnvelope("Webhook endpoint found", {
      endpoint: {
        ...delivering,
        failingSince: "2026-11-30T22:10:05.000Z",
        consecutiveFailures: 4,
        lastSuccessAt: "2026-11-30T21:58:44.000Z",
      },
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const ENDPOINT_UPDATED_EXAMPLE = {
  disabled: example(
    "Disabled",
    "After { enabled: false }.",
    successEnvelope("Webhook endpoint updated", {
      endpoint: {
        ...delivering,
        status: "disabled",
        disabled: { reason: "app", at: "2026-12-01T08:30:00.000Z" },
        updatedAt: "2026-12-01T08:30:00.000Z",
      } satisfies EndpointView,
    }),
  ),
  enabled: example(
    "Enabled again",
    "After { enabled: true } on the endpoint disabled for failing: its failures are forgotten.",
    successEnvelope("Webhook endpoint updated", {
      endpoint: {
        ...failingDisabled,
        status: "enabled",
        disabled: null,
        failingSince: null,
        consecutiveFailures: 0,
        updatedAt: "2026-12-01T08:30:00.000Z",
      } satisfies EndpointView,
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const ENDPOINT_DELETED_EXAMPLE = {
  deleted: example(
    "Deleted",
    "Nothing more is sent to it.",
    successEnvelope("Webhook endpoint deleted", { deleted: true }),
  ),
} satisfies Record<string, ExampleObject>;

const [, completed] = OUTBOUND_EVENT_EXAMPLES["checkout.completed"];
const [, subscribed] = OUTBOUND_EVENT_EXAMPLES["subscription.created"];
const [, invoicePaid] = OUTBOUND_EVENT_EXAMPLES["invoice.paid"];

export const EVENT_LIST_EXAMPLE = {
  page: example(
    "A page of events, with more to come",
    "Oldest first; pass nextCursor as cursor for the next page.",
    successEnvelope("Webhook events found", {
      events: [completed, subscribed, invoicePaid],
      nextCursor: "c19",
    }),
  ),
  last: example(
    "The last page",
    "nextCursor null: nothing more (for now: poll again later with the same since).",
    successEnvelope("Webhook events found", { events: [], nextCursor: null }),
  ),
} satisfies Record<string, ExampleObject>;

const delivered: DeliveryView = {
  eventId: EVENT_ID,
  endpointId: ENDPOINT_ID,
  status: "delivered",
  attemptCount: 2,
  nextAttemptAt: null,
  deliveredAt: "2026-11-25T10:19:53.000Z",
  lastStatusCode: 200,
  lastError: null,
  attempts: [
    {
      attempt: 2,
      at: "2026-11-25T10:19:53.204Z",
      statusCode: 200,
      durationMs: 87,
      error: null,
      responseExcerpt: "ok",
    },
    {
      attempt: 1,
      at: "2026-11-25T10:19:48.019Z",
      statusCode: 503,
      durationMs: 1204,
      error: "answered 503",
      responseExcerpt: "upstream connect error",
    },
  ],
};

const retrying: DeliveryView = {
  eventId: EVENT_ID,
  endpointId: BILLING_ENDPOINT_ID,
  status: "pending",
  attemptCount: 2,
  nextAttemptAt: "2026-11-25T10:24:53.000Z",
  deliveredAt: null,
  lastStatusCode: null,
  lastError: "no answer within 15000 ms",
  attempts: [
    {
      attempt: 2,
      at: "2026-11-25T10:19:53.119Z",
      statusCode: null,
      durationMs: 15001,
      error: "no answer within 15000 ms",
      responseExcerpt: null,
    },
    {
      attempt: 1,
      at: "2026-11-25T10:19:48.022Z",
      statusCode: 301,
      durationMs: 64,
      error: "answered 301, a redirect, which is not followed",
      responseExcerpt: null,
    },
  ],
};

export const DELIVERY_LIST_EXAMPLE = {
  ofEvent: example(
    "The deliveries of one event",
    "Delivered to one endpoint at the second attempt; the other is waiting for its third.",
    successEnvelope("Webhook deliveries found", {
      deliveries: [retrying, delivered],
      nextCursor: null,
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const REDELIVER_BODY_EXAMPLES = {
  everywhere: example<RedeliverBody>(
    "To every endpoint that takes it",
    "Every enabled endpoint of the event's mode that takes its type (an empty body, or none, is the same).",
    {},
  ),
  one: example<RedeliverBody>(
    "To one endpoint",
    "Only to this endpoint, for example one registered after the event happened.",
    { endpointId: ENDPOINT_ID },
  ),
} satisfies Record<string, ExampleObject>;

export const REDELIVERING_EXAMPLE = {
  one: example(
    "A new round for one endpoint",
    "Due now, with the same webhook-id and body. Until the new round's first attempt, lastStatusCode, lastError and deliveredAt are still the previous round's.",
    successEnvelope("Webhook event redelivering", {
      deliveries: [
        {
          ...delivered,
          status: "pending",
          attemptCount: 0,
          nextAttemptAt: "2026-12-01T08:30:00.000Z",
          attempts: [],
        } satisfies DeliveryView,
      ],
    }),
  ),
} satisfies Record<string, ExampleObject>;
