/**
 * The Stripe double's billing objects (API version 2026-10-28.endive), and how each is written
 * on the wire: a subscription's period on its item, an invoice's subscription under
 * `parent.subscription_details`, a charge's payment intent.
 */

export interface DoubleSubscription {
  id: string;
  livemode: boolean;
  account: string | null;
  customer: string;
  /** Stripe's statuses, and any it may add later (`setStatus`). */
  status: string;
  metadata: Record<string, string>;
  price: string;
  quantity: number;
  /**
   * `flexible`, the default of the pinned API version for new subscriptions, Checkout's
   * included (docs.stripe.com/changelog/clover/2025-09-30/billing-mode-default-flexible);
   * `classic` only where a test asks for it.
   */
  billing_mode: "flexible" | "classic";
  cancel_at_period_end: boolean;
  /** When it will end: the period's end for a cancellation at period end, in either mode. */
  cancel_at: number | null;
  canceled_at: number | null;
  ended_at: number | null;
  trial_end: number | null;
  created: number;
  current_period_start: number;
  current_period_end: number;
  latest_invoice: string | null;
  /** How its invoices are paid (the checkout's method): card, or sepa_debit (slow to settle). */
  payment_method: string;
}

export interface DoubleInvoice {
  id: string;
  livemode: boolean;
  account: string | null;
  customer: string;
  status: "draft" | "open" | "paid" | "void" | "uncollectible";
  currency: string;
  amount_due: number;
  amount_paid: number;
  attempt_count: number;
  period_start: number;
  period_end: number;
  created: number;
  metadata: Record<string, string>;
  subscription: string | null;
  subscription_metadata: Record<string, string>;
  paid_at: number | null;
  /** A SEPA debit attempted and not settled yet (days, at Stripe): open, its attempt counted. */
  processing: boolean;
}

export interface DoubleCharge {
  id: string;
  livemode: boolean;
  account: string | null;
  customer: string | null;
  payment_intent: string;
  /** The payment intent's metadata (the checkout's `payment_intent_data[metadata]`). */
  payment_intent_metadata: Record<string, string>;
  amount: number;
  amount_refunded: number;
  currency: string;
}

export interface DoubleRefund {
  id: string;
  charge: string;
  amount: number;
  status: "succeeded" | "failed";
}

export interface DoublePortalSession {
  id: string;
  livemode: boolean;
  account: string | null;
  customer: string;
  return_url: string;
  flow: string | null;
  subscription: string | null;
  url: string;
}

export function publicSubscription(sub: DoubleSubscription): Record<string, unknown> {
  return {
    id: sub.id,
    object: "subscription",
    livemode: sub.livemode,
    customer: sub.customer,
    status: sub.status,
    metadata: sub.metadata,
    billing_mode: {
      type: sub.billing_mode,
      flexible: sub.billing_mode === "flexible" ? { proration_discounts: "included" } : null,
      updated_at: sub.created,
    },
    cancel_at: sub.cancel_at,
    cancel_at_period_end: sub.cancel_at_period_end,
    canceled_at: sub.canceled_at,
    ended_at: sub.ended_at,
    trial_end: sub.trial_end,
    created: sub.created,
    start_date: sub.created,
    latest_invoice: sub.latest_invoice,
    items: {
      object: "list",
      data: [
        {
          id: `si_${sub.id.slice(4)}`,
          object: "subscription_item",
          price: { id: sub.price, object: "price" },
          quantity: sub.quantity,
          current_period_start: sub.current_period_start,
          current_period_end: sub.current_period_end,
        },
      ],
    },
  };
}

export function publicInvoice(
  invoice: DoubleInvoice,
  checkoutOrigin: string,
): Record<string, unknown> {
  const base = `${checkoutOrigin}/i/${invoice.id}`;
  return {
    id: invoice.id,
    object: "invoice",
    livemode: invoice.livemode,
    customer: invoice.customer,
    status: invoice.status,
    currency: invoice.currency,
    amount_due: invoice.amount_due,
    amount_paid: invoice.amount_paid,
    amount_remaining: invoice.amount_due - invoice.amount_paid,
    attempt_count: invoice.attempt_count,
    attempted: invoice.attempt_count > 0,
    hosted_invoice_url: base,
    invoice_pdf: `${base}/pdf`,
    period_start: invoice.period_start,
    period_end: invoice.period_end,
    created: invoice.created,
    metadata: invoice.metadata,
    status_transitions: { paid_at: invoice.paid_at },
    parent: invoice.subscription
      ? {
          type: "subscription_details",
          subscription_details: {
            subscription: invoice.subscription,
            metadata: invoice.subscription_metadata,
          },
        }
      : null,
  };
}

export function publicRefund(refund: DoubleRefund, charge: DoubleCharge): Record<string, unknown> {
  return {
    id: refund.id,
    object: "refund",
    amount: refund.amount,
    charge: refund.charge,
    currency: charge.currency,
    payment_intent: charge.payment_intent,
    status: refund.status,
    failure_reason: refund.status === "failed" ? "expired_or_canceled_card" : null,
  };
}

/** A charge as Stripe shows it; with `expand[]=payment_intent`, its payment intent in full. */
export function publicCharge(
  charge: DoubleCharge,
  expandPaymentIntent = false,
): Record<string, unknown> {
  return {
    id: charge.id,
    object: "charge",
    livemode: charge.livemode,
    customer: charge.customer,
    payment_intent: expandPaymentIntent
      ? {
          id: charge.payment_intent,
          object: "payment_intent",
          livemode: charge.livemode,
          status: "succeeded",
          amount: charge.amount,
          currency: charge.currency,
          metadata: charge.payment_intent_metadata,
        }
      : charge.payment_intent,
    amount: charge.amount,
    amount_refunded: charge.amount_refunded,
    refunded: charge.amount_refunded >= charge.amount,
    currency: charge.currency,
    metadata: {},
  };
}
