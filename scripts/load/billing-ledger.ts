import type { Created } from "./recorder.ts";

/**
 * What the load did to paid checkouts after the payment, through the Stripe double's billing
 * control routes and the portal: for the next moves and for the reconciliation of the app's
 * events. One move at a time per subscription or payment, so each move's events are the only
 * ones of that object in flight (Stripe's events of one moment, delivered together).
 */

/** A paid subscription checkout's subscription at the double. */
export interface LoadSubscription {
  checkout: Created;
  id: string;
  tenantId: string | null;
  /** As the moves left it: a renewal failed (past_due), canceled at the period's end (ending). */
  phase: "active" | "past_due" | "ending";
  /** A move is on its way, or one's outcome is unknown: no other move starts. */
  busy: boolean;
}

/** A paid one-time checkout's charge at the double. */
export interface LoadPayment {
  checkout: Created;
  chargeId: string;
  amount: number;
  /** The charge's refunded total after each refund the double answered 200 for. */
  refundedTotals: number[];
  busy: boolean;
  /** A refund whose answer was lost (network error, timeout): the double may have made it. */
  uncertain: boolean;
}

export class BillingLedger {
  readonly subscriptions: LoadSubscription[] = [];
  readonly payments: LoadPayment[] = [];
  /** How many of the recorder's completed checkouts were looked up at the double. */
  lookedUp = 0;
  /** The look-up on its way, which every client drawing a move waits for (one at a time). */
  lookup: Promise<void> | null = null;
  /** Moves the double (or the portal page) answered as done. */
  renewalsPaid = 0;
  renewalsFailed = 0;
  cardUpdates = 0;
  cancelsAtPeriodEnd = 0;
  refunds = 0;
  /** Moves whose answer was lost: the double may have made them. */
  unknown = 0;

  refundedTotalOf(payment: LoadPayment): number {
    return payment.refundedTotals.at(-1) ?? 0;
  }

  /** The payment status a paid checkout must end with in D1, given the refunds made of it. */
  paymentStatusesOf(checkout: Created): string[] {
    const payment = this.payments.find((p) => p.checkout === checkout);
    if (!payment) return ["paid"];
    if (payment.uncertain) return ["paid", "partially_refunded", "refunded"];
    const refunded = this.refundedTotalOf(payment);
    return [
      refunded === 0 ? "paid" : refunded >= payment.amount ? "refunded" : "partially_refunded",
    ];
  }
}
