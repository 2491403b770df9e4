import type * as z from "zod";
import { successEnvelope } from "../errors.ts";
import type {
  createEndpointBodySchema,
  OutboundEventType,
  RedeliverBody,
  updateEndpointBodySchema,
} from "../schemas/outbound.ts";
import type {
  DeliveryView,
  EndpointView,
  EndpointWithSecret,
  OutboundEvent,
} from "../schemas/outbound-views.ts";
import type { ExampleObject } from "./types.ts";

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

const APP = "3f6c2a1e-8b4d-4c7a-9e2f-1a5b7c9d0e3f";
const TENANT = "0b7e5f2c-4c1a-4d6e-9f3b-2a8c7d1e5f60";
const HOOKS = "https://hooks.example.com/checkout-edge";

/** The endpoint's signing secret: the webhook examples' signatures are made with it. */
export const EXAMPLE_SIGNING_SECRET = "whsec_xB8YYEcN20pwt+23jo0cBXMjmwz3PKjHlyjAEiHFfKc=";
const ROTATED_SECRET = "whsec_AARac8+5pb+ndu6kl29XJOzD4nUs8xj9n6foD7T8fs4=";
const ENDPOINT_ID = "we_CtqzTwclS0Hrbkykz5P5Rtq4";
const BILLING_ENDPOINT_ID = "we_xq2ItX3w4rv6GbJbP4ADGneg";
const EVENT_ID = "evt_54384a08e4a9ae905749791f5b72617d";

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

/* The events, each as the service POSTs it (the keys in the order it writes them). */

type ObjectOf<K extends OutboundEvent["object"]["kind"]> = Extract<
  OutboundEvent["object"],
  { kind: K }
>;

const event = (
  id: string,
  type: OutboundEventType,
  createdAt: string,
  object: OutboundEvent["object"],
  tenantId: string | null = TENANT,
): OutboundEvent => ({ id, type, createdAt, appId: APP, tenantId, livemode: false, object });

const checkout: ObjectOf<"checkout"> = {
  kind: "checkout",
  id: "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ",
  hash: "h7Qx2Lp9Vb4Nc8Zr1Tw6Ys3Km5Jd0Fg_",
  status: "complete",
  paymentStatus: "unpaid",
  mode: "payment",
  customerId: "cus_QfH2mZp8VtL3xk",
  subscriptionId: null,
  paymentIntentId: "pi_3QfH2m8VtL3xkC1f",
  refund: null,
  createdAt: "2026-11-25T10:15:35.000Z",
  expiresAt: "2026-11-25T11:15:35.000Z",
  completedAt: "2026-11-25T10:19:47.000Z",
  updatedAt: "2026-11-25T10:19:47.000Z",
  sequence: 41,
};

const subscription: ObjectOf<"subscription"> = {
  kind: "subscription",
  id: "sub_1QfH2n8VtL3xkA9d",
  status: "active",
  customerId: "cus_QfH2mZp8VtL3xk",
  price: "price_eur_monthly",
  quantity: 3,
  currentPeriodStart: "2026-11-25T10:19:47.000Z",
  currentPeriodEnd: "2026-12-25T10:19:47.000Z",
  cancelAtPeriodEnd: false,
  canceledAt: null,
  endedAt: null,
  trialEnd: null,
  updatedAt: "2026-11-25T10:20:03.000Z",
  sequence: 44,
};

const invoice: ObjectOf<"invoice"> = {
  kind: "invoice",
  id: "in_1QfH2p8VtL3xkB7e",
  status: "paid",
  subscriptionId: "sub_1QfH2n8VtL3xkA9d",
  customerId: "cus_QfH2mZp8VtL3xk",
  currency: "eur",
  amountDue: 5700,
  amountPaid: 5700,
  amountRemaining: 0,
  attemptCount: 1,
  hostedInvoiceUrl: "https://invoice.stripe.com/i/acct_1Q/test_YWNjdF8x",
  invoicePdf: "https://pay.stripe.com/invoice/acct_1Q/test_YWNjdF8x/pdf",
  periodStart: "2026-11-25T10:19:47.000Z",
  periodEnd: "2026-12-25T10:19:47.000Z",
  paidAt: "2026-11-25T10:19:51.000Z",
  createdAt: "2026-11-25T10:19:47.000Z",
  updatedAt: "2026-11-25T10:20:04.000Z",
  sequence: 45,
};

/** One example per event type: its summary and the event. */
export const OUTBOUND_EVENT_EXAMPLES: Record<OutboundEventType, [string, OutboundEvent]> = {
  "checkout.completed": [
    "A checkout paid by SEPA Direct Debit was completed; the debit is not through yet",
    event(EVENT_ID, "checkout.completed", "2026-11-25T10:19:47.412Z", checkout),
  ],
  "checkout.payment_succeeded": [
    "The debit of that checkout went through, two days later",
    event(
      "evt_a23575c67e62f59e93d7717a1f26747d",
      "checkout.payment_succeeded",
      "2026-11-27T08:02:11.730Z",
      { ...checkout, paymentStatus: "paid", updatedAt: "2026-11-27T08:02:11.000Z", sequence: 57 },
    ),
  ],
  "checkout.payment_failed": [
    "The debit of that checkout failed instead",
    event(
      "evt_81eec2082a3ceb114dee12e77dbd04e5",
      "checkout.payment_failed",
      "2026-11-27T08:02:11.730Z",
      {
        ...checkout,
        paymentStatus: "failed",
        updatedAt: "2026-11-27T08:02:11.000Z",
        sequence: 57,
      },
    ),
  ],
  "checkout.expired": [
    "A checkout without a tenant that nobody paid in time",
    event(
      "evt_cb5cf086aa7ea95db7add32a357d2dd2",
      "checkout.expired",
      "2026-11-25T12:15:40.118Z",
      {
        ...checkout,
        id: "cs_test_b9Y8x7W6v5U4t3S2r1Q0pOnMlKjIhGfEdCbA",
        hash: "Kd3Lm8Qp1Rs6Tv0Wx4Yz9Ab2Cd7Ef5Gh",
        status: "expired",
        paymentStatus: null,
        customerId: null,
        paymentIntentId: null,
        createdAt: "2026-11-25T11:15:02.000Z",
        expiresAt: "2026-11-25T12:15:02.000Z",
        completedAt: null,
        updatedAt: "2026-11-25T12:15:40.000Z",
        sequence: 48,
      },
      null,
    ),
  ],
  "payment.refunded": [
    "Part of that payment was refunded at Stripe",
    event("evt_0d78d2d97ed1fd0b62af25ecd2a07ba4", "payment.refunded", "2026-11-28T16:40:09.256Z", {
      ...checkout,
      paymentStatus: "partially_refunded",
      refund: { amount: 1900, currency: "eur" },
      updatedAt: "2026-11-28T16:40:09.000Z",
      sequence: 61,
    }),
  ],
  "subscription.created": [
    "The tenant's new monthly subscription",
    event(
      "evt_3c416cc662bede7f8a81356e9fd42e53",
      "subscription.created",
      "2026-11-25T10:20:03.518Z",
      subscription,
    ),
  ],
  "subscription.updated": [
    "The tenant chose to cancel at the end of the period",
    event(
      "evt_d055d0ee5b9711029a6ba0a685427dff",
      "subscription.updated",
      "2026-12-01T09:12:27.904Z",
      {
        ...subscription,
        cancelAtPeriodEnd: true,
        canceledAt: "2026-12-01T09:12:26.000Z",
        updatedAt: "2026-12-01T09:12:27.000Z",
        sequence: 66,
      },
    ),
  ],
  "subscription.canceled": [
    "The subscription ended at its period's end",
    event(
      "evt_0ad92db8650f581040fc4627e92ef19b",
      "subscription.canceled",
      "2026-12-25T10:19:52.377Z",
      {
        ...subscription,
        status: "canceled",
        cancelAtPeriodEnd: true,
        canceledAt: "2026-12-01T09:12:26.000Z",
        endedAt: "2026-12-25T10:19:47.000Z",
        updatedAt: "2026-12-25T10:19:52.000Z",
        sequence: 81,
      },
    ),
  ],
  "invoice.paid": [
    "The subscription's first invoice was paid",
    event(
      "evt_8a9625d83478bad71f1c4217315b6df7",
      "invoice.paid",
      "2026-11-25T10:20:04.091Z",
      invoice,
    ),
  ],
  "invoice.payment_failed": [
    "A renewal invoice's first payment attempt failed",
    event(
      "evt_0642b6a511ae83d5c3bf311a5f735b48",
      "invoice.payment_failed",
      "2026-12-25T10:21:13.640Z",
      {
        ...invoice,
        id: "in_1QhK5s8VtL3xkD2g",
        status: "open",
        amountPaid: 0,
        amountRemaining: 5700,
        hostedInvoiceUrl: "https://invoice.stripe.com/i/acct_1Q/test_YWNjdF8y",
        invoicePdf: "https://pay.stripe.com/invoice/acct_1Q/test_YWNjdF8y/pdf",
        periodStart: "2026-12-25T10:19:47.000Z",
        periodEnd: "2027-01-25T10:19:47.000Z",
        paidAt: null,
        createdAt: "2026-12-25T10:19:47.000Z",
        updatedAt: "2026-12-25T10:21:13.000Z",
        sequence: 82,
      },
    ),
  ],
};

/**
 * The headers of each event example's first attempt (a second after the event): signed with
 * EXAMPLE_SIGNING_SECRET over the example's JSON.stringify, as the service signs the body it
 * sends. The worker tests sign the examples again with the service's own code and compare.
 */
export const EXAMPLE_SIGNATURES: Record<
  OutboundEventType,
  { timestamp: number; signature: string }
> = {
  "checkout.completed": {
    timestamp: 1795601988,
    signature: "v1,qrCBymxarhOPZ56ad6ya45+YMw7HPP5UiEVy7W8pNzE=",
  },
  "checkout.payment_succeeded": {
    timestamp: 1795766532,
    signature: "v1,Sr+AIHclKQNP6NfSGCDopGNHp+Qk7t9BGfd/Fq3byyw=",
  },
  "checkout.payment_failed": {
    timestamp: 1795766532,
    signature: "v1,4tYieFO+zSnkvz2/YgmiHK5ZD+zt/5eSHdvaUu0pvxA=",
  },
  "checkout.expired": {
    timestamp: 1795608941,
    signature: "v1,ox3L7dx33Kluz4Rq75N4kbJNije7a2hqToJeDPfSvDw=",
  },
  "payment.refunded": {
    timestamp: 1795884010,
    signature: "v1,fEeWgBeYqfzlNDfSOb+oC17RM+ogMSmvglJvJ5BfQOo=",
  },
  "subscription.created": {
    timestamp: 1795602004,
    signature: "v1,bTGB9XGxQlH6dcIF5x4KcW5/lREJiYk6wIQa8A75JYk=",
  },
  "subscription.updated": {
    timestamp: 1796116348,
    signature: "v1,fIs4m2nfVrwszQICUDk+1pPpzvTB4YnqqjCUyIlt4mU=",
  },
  "subscription.canceled": {
    timestamp: 1798193993,
    signature: "v1,ND+eFVavXHFbz4N1osw+cRvs1qa7l/HLNX7e2btf+Q0=",
  },
  "invoice.paid": {
    timestamp: 1795602005,
    signature: "v1,SxpOCAUhD18Oy4HZqgukdTnHC8H8KwuPzDQINrw33UY=",
  },
  "invoice.payment_failed": {
    timestamp: 1798194074,
    signature: "v1,OhdecrKkzyEnUr2eZfV6gh0A/tSMeZU79Ro4aesUIKg=",
  },
};

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
