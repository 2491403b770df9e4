import * as z from "zod";
import { billingViewSchema, portalViewSchema } from "./billing.ts";

/**
 * The responses of the API as zod schemas, and the types the code answers with are their
 * outputs: the OpenAPI document is generated from the very shapes the routes return. They
 * validate nothing at run time.
 */

/** A schema with its description for the document (zod's `.meta()`, which validation never reads). */
function doc<T extends z.ZodType>(schema: T, description: string): T {
  return schema.meta({ description });
}

const checkoutStatusSchema = doc(
  z.enum(["pending", "open", "complete", "expired"]),
  "pending: Stripe has not confirmed the session yet; open: can be paid; complete: finished (see paymentStatus); expired: can no longer be paid",
);
const checkoutModeSchema = doc(
  z.enum(["payment", "subscription", "setup"]),
  "The mode the checkout was created with",
);
const sessionIdSchema = doc(z.string(), "The Stripe Checkout Session id (cs_test_… / cs_live_…)");
const hashSchema = doc(
  z.string().regex(/^[A-Za-z0-9_-]{32}$/),
  "The checkout's unguessable id in this service: the last segment of the payment page URL",
);
const tenantIdSchema = doc(
  z.uuid().nullable(),
  "The tenant the checkout is for (from the tenant route or the access token's tenantId claim), or null",
);
/** A point in time as the views write it (toISOString: UTC, milliseconds). */
const timestamp = () => z.iso.datetime();
const nextActionSchema = z.object({
  url: doc(
    z.url(),
    "The payment page of this service. Append ?state=<the state you sent> and send the person there",
  ),
});

/** `data.checkout` of the create routes (src/checkouts/view.ts, CheckoutView). */
export const checkoutViewSchema = doc(
  z.object({
    id: sessionIdSchema,
    hash: hashSchema,
    nextAction: nextActionSchema,
    status: checkoutStatusSchema,
    mode: checkoutModeSchema,
    livemode: doc(z.boolean(), "false for test mode (test: true), true for live mode"),
    tenantId: tenantIdSchema,
    expiresAt: doc(timestamp(), "When the checkout expires (ISO 8601, UTC)"),
  }),
  "The checkout that was created (or, for a repeated state, found again)",
);

/** `data.checkout` of the read route (src/checkouts/view.ts, CheckoutDetails). */
export const checkoutDetailsSchema = doc(
  z.object({
    id: sessionIdSchema,
    hash: hashSchema,
    status: checkoutStatusSchema,
    paymentStatus: doc(
      z.string().nullable(),
      "Stripe's payment status once known (paid, unpaid, no_payment_required, failed; refunded or partially_refunded after a refund), else null",
    ),
    mode: checkoutModeSchema,
    livemode: doc(z.boolean(), "false for test mode, true for live mode"),
    tenantId: tenantIdSchema,
    createdAt: doc(timestamp(), "When the checkout was created (ISO 8601, UTC)"),
    expiresAt: doc(timestamp(), "When the checkout expires (ISO 8601, UTC)"),
    openedAt: doc(
      timestamp().nullable(),
      "When the payment page first forwarded to Stripe, or null",
    ),
    completedAt: doc(
      timestamp().nullable(),
      "When Stripe reported the checkout completed, or null",
    ),
    nextAction: doc(
      nextActionSchema.nullable(),
      "The payment page while the checkout can still be paid, else null",
    ),
    refund: doc(
      z
        .object({
          amount: doc(z.int(), "Refunded so far, in the currency's smallest unit"),
          currency: doc(z.string(), "ISO currency code, lower case"),
        })
        .nullable(),
      "One-time payments refunded at Stripe (paymentStatus refunded or partially_refunded): how much; else null",
    ),
    customerTaxExempt: doc(
      z
        .object({
          status: doc(
            z.enum(["pending", "applied", "failed"]),
            "pending: not done yet (tried again by the service); applied: done; failed: Stripe refused it, or every try failed (error says why)",
          ),
          error: doc(z.string().nullable(), "Why the last try failed, or null"),
        })
        .nullable(),
      "Reverse charge only: marking the customer that Checkout created tax-exempt reverse at Stripe, which happens after the completion is recorded and never holds it up; null when there is nothing to do",
    ),
  }),
  "The stored record of a checkout (never its state, the state's digest or Stripe's own URL)",
);

const eventOutcomeSchema = doc(
  z.enum(["applied", "duplicate", "ignored", "unmatched"]),
  "applied: the event changed the record; duplicate: this event id was processed before; ignored: an event type this service does not handle; unmatched: no checkout of this service",
);

function successEnvelopeSchema<T extends z.ZodType>(data: T, description: string) {
  return doc(
    z.object({
      success: z.literal(true),
      message: doc(z.string(), "What happened, in words"),
      error: z.null(),
      data,
    }),
    description,
  );
}

export const createCheckoutResponseSchema = successEnvelopeSchema(
  z.object({ checkout: checkoutViewSchema }),
  "The success envelope with data.checkout",
);

export const readCheckoutResponseSchema = successEnvelopeSchema(
  z.object({ checkout: checkoutDetailsSchema }),
  "The success envelope with data.checkout",
);

export const webhookResponseSchema = successEnvelopeSchema(
  z.object({
    received: z.literal(true),
    eventId: doc(z.string(), "Stripe's event id (evt_…)"),
    outcome: eventOutcomeSchema,
  }),
  "The event was taken (or deliberately ignored); Stripe stops delivering it",
);

export const healthResponseSchema = successEnvelopeSchema(
  z.object({ status: z.literal("ok") }),
  "The worker answers and its D1 and KV bindings respond",
);

/** Every failure of the JSON API, 404 and 405 included. */
export const failureEnvelopeSchema = doc(
  z.object({
    success: z.literal(false),
    message: z.null(),
    error: doc(
      z.string(),
      "What was wrong, in words a developer can act on (which field, which header)",
    ),
    data: z.null(),
  }),
  "The failure envelope",
);

export type CheckoutView = z.output<typeof checkoutViewSchema>;
export type CheckoutDetails = z.output<typeof checkoutDetailsSchema>;
export type EventOutcome = z.output<typeof eventOutcomeSchema>;

export const billingResponseSchema = successEnvelopeSchema(
  z.object({ billing: billingViewSchema }),
  "The success envelope with data.billing",
);

export const portalResponseSchema = successEnvelopeSchema(
  z.object({ portal: portalViewSchema }),
  "The success envelope with data.portal",
);
