import * as z from "zod";
import { type OUTBOUND_EVENT_TYPES, outboundEventTypeSchema } from "./outbound.ts";

/**
 * What the outbound webhook routes answer, and the events as they are POSTed to endpoints (and
 * listed by GET /api/v1/webhook-events): one shape. As in responses.ts, the OpenAPI document is
 * made from these and the code answers with their outputs; the tests parse every body sent.
 */

const doc = <T extends z.ZodType>(schema: T, description: string): T =>
  schema.meta({ description });

const timestamp = () => z.iso.datetime();
const money = (what: string) => doc(z.int(), `${what}, in the currency's smallest unit`);

/** Where a receiver orders what it gets: a later event of an object has a higher sequence. */
const ordering = {
  updatedAt: doc(timestamp(), "When the object was in this state (our write of it)"),
  sequence: doc(
    z.int().positive(),
    "Grows with every event this service commits: of two events of one object, the higher sequence is the newer state; drop older ones",
  ),
};

const checkoutObjectSchema = z.object({
  kind: z.literal("checkout"),
  id: doc(
    z.string().nullable(),
    "The Stripe Checkout Session id (cs_…), as the create route answered",
  ),
  hash: doc(z.string(), "The checkout's id in this service (the payment page's last segment)"),
  status: z.enum(["pending", "open", "complete", "expired"]),
  paymentStatus: doc(
    z.string().nullable(),
    "Stripe's payment_status (paid, unpaid, no_payment_required), then failed, refunded or partially_refunded",
  ),
  mode: z.enum(["payment", "subscription", "setup"]),
  customerId: doc(z.string().nullable(), "The Stripe customer (cus_…), once known"),
  subscriptionId: doc(z.string().nullable(), "The subscription it created (sub_…)"),
  paymentIntentId: doc(z.string().nullable(), "The payment intent of a payment (pi_…)"),
  refund: doc(
    z.object({ amount: money("Refunded so far"), currency: z.string() }).nullable(),
    "One-time payments refunded: how much so far; else null",
  ),
  createdAt: timestamp(),
  expiresAt: timestamp(),
  completedAt: timestamp().nullable(),
  ...ordering,
});

const subscriptionObjectSchema = z.object({
  kind: z.literal("subscription"),
  id: doc(z.string(), "Stripe's subscription id (sub_…)"),
  status: doc(z.string(), "Stripe's status: trialing, active, past_due, unpaid, canceled, …"),
  customerId: z.string(),
  price: z.string().nullable(),
  quantity: z.int().nullable(),
  currentPeriodStart: timestamp().nullable(),
  currentPeriodEnd: timestamp().nullable(),
  cancelAtPeriodEnd: doc(z.boolean(), "true: it ends at currentPeriodEnd instead of renewing"),
  cancelAt: doc(timestamp().nullable(), "When it will end, or null (either billing mode)"),
  billingMode: doc(z.string(), "Stripe's billing mode: flexible (the default) or classic"),
  canceledAt: timestamp().nullable(),
  endedAt: timestamp().nullable(),
  trialEnd: timestamp().nullable(),
  duplicateOf: doc(
    z.string().nullable(),
    "The tenant's older running subscription this one duplicates (two tabs were paid in a race), or null",
  ),
  ...ordering,
});

const invoiceObjectSchema = z.object({
  kind: z.literal("invoice"),
  id: doc(z.string(), "Stripe's invoice id (in_…)"),
  status: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  customerId: z.string().nullable(),
  currency: z.string(),
  amountDue: money("Due"),
  amountPaid: money("Paid"),
  amountRemaining: money("Still to pay"),
  attemptCount: doc(z.int(), "Payment attempts so far"),
  hostedInvoiceUrl: z.string().nullable(),
  invoicePdf: z.string().nullable(),
  periodStart: timestamp().nullable(),
  periodEnd: timestamp().nullable(),
  paidAt: timestamp().nullable(),
  createdAt: timestamp(),
  ...ordering,
});

/** Which object each event type carries. */
export const OBJECT_KIND_OF = {
  "checkout.completed": "checkout",
  "checkout.expired": "checkout",
  "checkout.payment_succeeded": "checkout",
  "checkout.payment_failed": "checkout",
  "payment.refunded": "checkout",
  "payment.refund_failed": "checkout",
  "subscription.created": "subscription",
  "subscription.updated": "subscription",
  "subscription.canceled": "subscription",
  "invoice.paid": "invoice",
  "invoice.payment_failed": "invoice",
} as const satisfies Record<(typeof OUTBOUND_EVENT_TYPES)[number], string>;

export const outboundEventSchema = z
  .object({
    id: doc(z.string(), "The event's id (evt_…): the webhook-id header; the same on every retry"),
    type: outboundEventTypeSchema,
    createdAt: doc(timestamp(), "When the change happened"),
    appId: z.uuid(),
    tenantId: doc(z.uuid().nullable(), "The tenant, or null for a checkout made without one"),
    livemode: z.boolean(),
    object: z.discriminatedUnion("kind", [
      checkoutObjectSchema,
      subscriptionObjectSchema,
      invoiceObjectSchema,
    ]),
  })
  .refine((event) => OBJECT_KIND_OF[event.type] === event.object.kind, "object of another kind")
  .meta({
    description:
      "An event, as POSTed to endpoints (signed per Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) and as listed",
  });

export type OutboundEvent = z.output<typeof outboundEventSchema>;

const endpointSchema = z.object({
  id: doc(z.string(), "The endpoint's id (we_…)"),
  url: z.string(),
  livemode: z.boolean(),
  description: z.string().nullable(),
  eventTypes: doc(z.array(outboundEventTypeSchema).nullable(), "null: every event type"),
  status: doc(
    z.enum(["enabled", "disabled"]),
    "disabled: nothing is sent to it (see disabled.reason)",
  ),
  disabled: doc(
    z
      .object({
        reason: doc(
          z.enum(["app", "failing"]),
          "app: disabled through the API or CLI; failing: every attempt failed for 5 days",
        ),
        at: timestamp(),
      })
      .nullable(),
    "Why and since when it is disabled, or null",
  ),
  failingSince: doc(
    timestamp().nullable(),
    "Since when every attempt has failed, each within the retry schedule's longest wait (24 h) of the one before (after a longer gap the endpoint was idle: from the failure after it); null after a success. Five days of it disable the endpoint",
  ),
  consecutiveFailures: z.int(),
  lastSuccessAt: timestamp().nullable(),
  previousSecretValidUntil: doc(
    timestamp().nullable(),
    "After a rotation: until when the replaced secret still signs too, or null",
  ),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});

export type EndpointView = z.output<typeof endpointSchema>;

export const endpointWithSecretSchema = endpointSchema.extend({
  secret: doc(
    z.string().regex(/^whsec_[A-Za-z0-9+/]+=*$/),
    "The signing secret (whsec_ and base64), shown only now: store it; it cannot be read again",
  ),
});

export type EndpointWithSecret = z.output<typeof endpointWithSecretSchema>;

const attemptSchema = z.object({
  attempt: doc(z.int().positive(), "1 for the first attempt"),
  at: timestamp(),
  statusCode: doc(z.int().nullable(), "The endpoint's answer, or null when none came"),
  durationMs: z.int(),
  error: doc(z.string().nullable(), "Why it failed, or null for a 2xx"),
  responseExcerpt: doc(z.string().nullable(), "At most 256 characters of the answer's body"),
});

const deliverySchema = z.object({
  eventId: z.string(),
  endpointId: z.string(),
  status: doc(
    z.enum(["pending", "delivered", "dead", "canceled"]),
    "pending: being sent or waiting for its next attempt; delivered: a 2xx came; dead: every attempt failed (redeliver it); canceled: the endpoint was disabled",
  ),
  attemptCount: doc(z.int(), "Attempts of the current round (a redelivery starts a new one)"),
  nextAttemptAt: timestamp().nullable(),
  deliveredAt: timestamp().nullable(),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  attempts: doc(z.array(attemptSchema), "Every attempt, newest first (at most 50)"),
});

export type DeliveryView = z.output<typeof deliverySchema>;

const nextCursor = doc(z.string().nullable(), "Pass as cursor for the next page; null: no more");

export const endpointAnswerSchema = z.object({ endpoint: endpointSchema });
export const endpointWithSecretAnswerSchema = z.object({ endpoint: endpointWithSecretSchema });
export const endpointListAnswerSchema = z.object({ endpoints: z.array(endpointSchema) });
export const eventListAnswerSchema = z.object({
  events: z.array(outboundEventSchema),
  nextCursor,
});
export const deliveryListAnswerSchema = z.object({
  deliveries: z.array(deliverySchema),
  nextCursor,
});
export const redeliverAnswerSchema = z.object({ deliveries: z.array(deliverySchema) });
