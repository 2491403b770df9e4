import * as z from "zod";

/**
 * The tenant billing routes' inputs and answers. As in responses.ts, the answer schemas validate
 * nothing at run time: the OpenAPI document is made from them and the code answers with their
 * outputs.
 */

const doc = <T extends z.ZodType>(schema: T, description: string): T =>
  schema.meta({ description });

/** `?test=true|false`: the mode, as the create body's `test` (default false: live). */
export const billingQuerySchema = z.strictObject(
  {
    test: doc(
      z
        .enum(["true", "false"], { error: "test must be true or false" })
        .optional()
        .transform((value) => value === "true"),
      "true: the tenant's test-mode billing; false (the default): live mode",
    ),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown query parameter: ${issue.keys.join(", ")}`
        : "Invalid query",
  },
);

const PORTAL_FLOWS = [
  "payment_method_update",
  "subscription_cancel",
  "subscription_update",
] as const;

export const portalBodySchema = z
  .strictObject(
    {
      test: doc(
        z.boolean({ error: "test must be true or false" }).optional().default(false),
        "true: Stripe test mode; false (the default): live mode",
      ),
      flow: doc(
        z
          .enum(PORTAL_FLOWS, { error: `flow must be one of ${PORTAL_FLOWS.join(", ")}` })
          .optional(),
        "Open the portal at one task: update the payment method, cancel or change the subscription; absent: the portal's home",
      ),
      subscriptionId: doc(
        z
          .string({ error: "subscriptionId must be a Stripe subscription id (sub_…)" })
          .regex(
            /^sub_[A-Za-z0-9]{1,250}$/,
            "subscriptionId must be a Stripe subscription id (sub_…)",
          )
          .optional(),
        "For subscription_cancel and subscription_update: which subscription of the tenant; absent: its current one",
      ),
    },
    {
      error: (issue) =>
        issue.code === "unrecognized_keys"
          ? `Unknown field${issue.keys.length > 1 ? "s" : ""} in body: ${issue.keys.join(", ")}`
          : "Request body must be a JSON object",
    },
  )
  .meta({ description: "The portal session to create for the tenant's Stripe customer" });

export type PortalBody = z.output<typeof portalBodySchema>;

const timestamp = () => z.iso.datetime();

/**
 * Stripe's statuses of a subscription (the SDK's Subscription.Status) as this version knows
 * them. A status Stripe adds later is stored and shown as Stripe says, and counts as not paid.
 */
const SUBSCRIPTION_STATUSES = [
  "trialing",
  "active",
  "past_due",
  "unpaid",
  "canceled",
  "incomplete",
  "incomplete_expired",
  "paused",
] as const;

const subscriptionViewSchema = z.object({
  id: doc(z.string(), "Stripe's subscription id (sub_…)"),
  status: doc(
    z.string(),
    `Stripe's status of the subscription, as Stripe said it last: ${SUBSCRIPTION_STATUSES.join(", ")}, or one Stripe adds later (shown as it is; not paid for)`,
  ),
  price: doc(z.string().nullable(), "The Stripe price id of its item"),
  quantity: doc(z.int().nullable(), "The quantity of its item"),
  currentPeriodStart: doc(timestamp().nullable(), "When the current period began"),
  currentPeriodEnd: doc(timestamp().nullable(), "When the current period ends (renewal or end)"),
  cancelAtPeriodEnd: doc(
    z.boolean(),
    "true: it ends at currentPeriodEnd instead of renewing (in flexible billing mode Stripe says so only through cancel_at)",
  ),
  cancelAt: doc(timestamp().nullable(), "When it will end, or null: in either billing mode"),
  billingMode: doc(
    z.string(),
    "Stripe's billing mode of the subscription: flexible (the default for new subscriptions) or classic",
  ),
  canceledAt: doc(timestamp().nullable(), "When it was canceled (or its cancellation asked for)"),
  endedAt: doc(timestamp().nullable(), "When it ended"),
  trialEnd: doc(timestamp().nullable(), "When its trial ends or ended"),
  duplicateOf: doc(
    z.string().nullable(),
    "Set when the tenant has two running subscriptions of this app and mode (two tabs were paid in a race): the older one this one duplicates. Cancel one of them (and refund it): see the README's billing section",
  ),
  syncedAt: doc(timestamp(), "When this service last read it from Stripe"),
});

const invoiceViewSchema = z.object({
  id: doc(z.string(), "Stripe's invoice id (in_…)"),
  status: doc(
    z.string().nullable(),
    "draft, open (not paid yet, perhaps a failed attempt), paid, void or uncollectible",
  ),
  subscriptionId: doc(
    z.string().nullable(),
    "The subscription it bills, or null (a one-time payment)",
  ),
  currency: doc(z.string(), "ISO currency code, lower case"),
  amountDue: doc(z.int(), "In the currency's smallest unit"),
  amountPaid: doc(z.int(), "In the currency's smallest unit"),
  amountRemaining: doc(z.int(), "In the currency's smallest unit"),
  attemptCount: doc(z.int(), "Payment attempts so far"),
  hostedInvoiceUrl: doc(z.string().nullable(), "Stripe's page of the invoice, for the tenant"),
  invoicePdf: doc(z.string().nullable(), "The invoice as a PDF"),
  periodStart: doc(timestamp().nullable(), "The period it bills, from"),
  periodEnd: doc(timestamp().nullable(), "The period it bills, to"),
  paidAt: doc(timestamp().nullable(), "When it was paid"),
  createdAt: doc(timestamp(), "When Stripe created it"),
});

export const billingViewSchema = z.object({
  tenantId: doc(z.uuid(), "The tenant (lower case)"),
  livemode: doc(z.boolean(), "false for test mode, true for live mode"),
  customerId: doc(z.string().nullable(), "The tenant's Stripe customer in this mode, or null"),
  paidUntil: doc(
    timestamp().nullable(),
    "The latest period end of a subscription that is active or trialing, or null: until then the tenant has paid",
  ),
  paymentFailed: doc(
    z.boolean(),
    "true when the tenant's latest invoice failed to be paid and is not paid yet (open after an attempt while its subscription is not active or trialing, or uncollectible); a SEPA debit still settling is not a failure",
  ),
  subscriptions: doc(
    z.array(subscriptionViewSchema),
    "The tenant's subscriptions of this app and mode, newest first",
  ),
  invoices: doc(
    z.array(invoiceViewSchema),
    "The tenant's latest invoices, newest first, at most 12",
  ),
});

export type BillingView = z.output<typeof billingViewSchema>;
export type SubscriptionView = z.output<typeof subscriptionViewSchema>;
export type InvoiceView = z.output<typeof invoiceViewSchema>;

export const portalViewSchema = z.object({
  url: doc(z.url(), "Stripe's customer portal: send the tenant's person there"),
  expiresAt: doc(
    timestamp().nullable(),
    "Stripe does not say when a portal session stops working (it is short-lived and expires unused): null",
  ),
});

export type PortalView = z.output<typeof portalViewSchema>;
