import * as z from "zod";

/**
 * The Stripe objects the billing state is made of, as the pinned API version returns them
 * (2026-10-28.endive: a subscription's period is on its items; an invoice's subscription is under
 * `parent.subscription_details`), parsed once at the edge into the few fields the service keeps.
 * A response that does not parse is Stripe answering with something unusable, never a guess.
 */

const id = z.string().min(1);
const idOf = z
  .union([id, z.looseObject({ id })])
  .transform((v) => (typeof v === "string" ? v : v.id));
const seconds = z.int().nonnegative();
const metadata = z
  .record(z.string(), z.string())
  .nullable()
  .transform((m) => m ?? {});

const subscriptionSchema = z
  .looseObject({
    id,
    object: z.literal("subscription"),
    customer: idOf,
    // Stripe's statuses, and any it adds later: stored as Stripe says (the SDK's `OtherString`).
    status: z.string().min(1),
    metadata,
    billing_mode: z
      .looseObject({ type: z.string().min(1) })
      .nullable()
      .optional(),
    cancel_at: seconds.nullable().optional(),
    cancel_at_period_end: z.boolean(),
    canceled_at: seconds.nullable(),
    ended_at: seconds.nullable(),
    trial_end: seconds.nullable(),
    created: seconds,
    latest_invoice: idOf.nullable().optional(),
    items: z.looseObject({
      data: z.array(
        z.looseObject({
          price: z.looseObject({ id }),
          quantity: z.int().nonnegative().nullable().optional(),
          current_period_start: seconds,
          current_period_end: seconds,
        }),
      ),
    }),
  })
  .transform((s) => {
    const item = s.items.data[0];
    const periodEnd = item?.current_period_end ?? null;
    // When it will end, in either billing mode: flexible mode sets only cancel_at, classic sets
    // cancel_at_period_end (and cancel_at too). It ends at the period's end if either says so.
    const cancelAt = s.cancel_at ?? (s.cancel_at_period_end ? periodEnd : null);
    return {
      id: s.id,
      customerId: s.customer,
      status: s.status,
      metadata: s.metadata,
      priceId: item?.price.id ?? null,
      quantity: item?.quantity ?? null,
      currentPeriodStart: item?.current_period_start ?? null,
      currentPeriodEnd: periodEnd,
      cancelAtPeriodEnd: s.cancel_at_period_end || (cancelAt !== null && cancelAt === periodEnd),
      cancelAt,
      billingMode: s.billing_mode?.type ?? "classic",
      canceledAt: s.canceled_at,
      endedAt: s.ended_at,
      trialEnd: s.trial_end,
      created: s.created,
      latestInvoiceId: s.latest_invoice ?? null,
    };
  });

export type SubscriptionAtStripe = z.output<typeof subscriptionSchema>;

const invoiceSchema = z
  .looseObject({
    id,
    object: z.literal("invoice"),
    customer: idOf.nullable(),
    status: z.enum(["draft", "open", "paid", "uncollectible", "void"]).nullable(),
    currency: z.string().min(3),
    amount_due: z.int(),
    amount_paid: z.int(),
    amount_remaining: z.int(),
    attempt_count: z.int().nonnegative(),
    hosted_invoice_url: z.string().nullable().optional(),
    invoice_pdf: z.string().nullable().optional(),
    period_start: seconds,
    period_end: seconds,
    created: seconds,
    metadata,
    status_transitions: z.looseObject({ paid_at: seconds.nullable().optional() }),
    parent: z
      .looseObject({
        subscription_details: z.looseObject({ subscription: idOf, metadata }).nullable().optional(),
      })
      .nullable()
      .optional(),
  })
  .transform((i) => ({
    id: i.id,
    customerId: i.customer,
    subscriptionId: i.parent?.subscription_details?.subscription ?? null,
    subscriptionMetadata: i.parent?.subscription_details?.metadata ?? {},
    metadata: i.metadata,
    status: i.status,
    currency: i.currency,
    amountDue: i.amount_due,
    amountPaid: i.amount_paid,
    amountRemaining: i.amount_remaining,
    attemptCount: i.attempt_count,
    hostedInvoiceUrl: i.hosted_invoice_url ?? null,
    invoicePdf: i.invoice_pdf ?? null,
    periodStart: i.period_start,
    periodEnd: i.period_end,
    paidAt: i.status_transitions.paid_at ?? null,
    created: i.created,
  }));

export type InvoiceAtStripe = z.output<typeof invoiceSchema>;

const chargeSchema = z
  .looseObject({
    id,
    object: z.literal("charge"),
    // Expanded (retrieveCharge asks for it): its metadata names the checkout.
    payment_intent: z.union([id, z.looseObject({ id, metadata })]).nullable(),
    amount: z.int().nonnegative(),
    amount_refunded: z.int().nonnegative(),
    currency: z.string().min(3),
  })
  .transform((c) => ({
    id: c.id,
    paymentIntentId:
      typeof c.payment_intent === "string" ? c.payment_intent : (c.payment_intent?.id ?? null),
    paymentIntentMetadata:
      typeof c.payment_intent === "object" && c.payment_intent ? c.payment_intent.metadata : {},
    amount: c.amount,
    amountRefunded: c.amount_refunded,
    currency: c.currency,
  }));

export type ChargeAtStripe = z.output<typeof chargeSchema>;

const portalSessionSchema = z
  .looseObject({ id, object: z.literal("billing_portal.session"), url: z.url() })
  .transform((p) => ({ id: p.id, url: p.url }));

export type PortalSessionAtStripe = z.output<typeof portalSessionSchema>;

/**
 * A Checkout Session as a read returns it (the cron's, before it expires a checkout): what its
 * completion event would have carried. `status` and `payment_status` stay Stripe's words; the
 * caller acts on the ones it knows and leaves anything else for a later read.
 */
const checkoutSessionSchema = z
  .looseObject({
    id,
    object: z.literal("checkout.session"),
    status: z.string().nullable(),
    payment_status: z.string(),
    mode: z.string(),
    livemode: z.boolean(),
    customer: idOf.nullable(),
    subscription: idOf.nullable(),
    payment_intent: idOf.nullable(),
    setup_intent: idOf.nullable(),
    metadata,
  })
  .transform((s) => ({
    id: s.id,
    status: s.status,
    paymentStatus: s.payment_status,
    mode: s.mode,
    livemode: s.livemode,
    customerId: s.customer,
    subscriptionId: s.subscription,
    paymentIntentId: s.payment_intent,
    setupIntentId: s.setup_intent,
    metadata: s.metadata,
  }));

export type CheckoutSessionAtStripe = z.output<typeof checkoutSessionSchema>;

export const STRIPE_OBJECTS = {
  checkoutSession: {
    schema: checkoutSessionSchema,
    expected: "something that is not a checkout session",
  },
  subscription: { schema: subscriptionSchema, expected: "something that is not a subscription" },
  invoice: { schema: invoiceSchema, expected: "something that is not an invoice" },
  charge: { schema: chargeSchema, expected: "something that is not a charge" },
  portalSession: {
    schema: portalSessionSchema,
    expected: "something that is not a billing portal session",
  },
} as const;
