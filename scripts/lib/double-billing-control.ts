/**
 * The Stripe double's billing control routes (docs/stripe-double.md): what happens to a tenant's
 * subscription or payment later, on request, each returning the events Stripe would send.
 *   POST /__double/subscriptions/<id>/renew?outcome=paid|failed|processing (SEPA Debit)
 *   POST /__double/subscriptions/<id>/settle?outcome=paid|failed (a SEPA debit in processing)
 *   POST /__double/subscriptions/<id>/cancel[?atPeriodEnd=true]   …/pause   …/resume
 *   POST /__double/charges/<id>/refund[?amount=<smallest unit>]
 *   GET  /__double/subscriptions, GET /__double/invoices, GET /__double/charges   (what there is)
 * `?shuffle=true` sends the events in another order than Stripe's usual one.
 */
import { type BillingWorld, shuffled } from "../../stripe-double/billing.ts";
import type { DoubleEvent } from "../../stripe-double/double.ts";

/** A subscription as GET /__double/subscriptions lists it (for harnesses that reconcile). */
export interface SubscriptionLine {
  id: string;
  status: string;
  customer: string;
  tenantId: string | null;
  /** The checkout it came from (its metadata's checkout_hash). */
  checkoutHash: string | null;
  currentPeriodEnd: number;
  cancelAt: number | null;
  latestInvoice: string | null;
}

/** An invoice as GET /__double/invoices lists it: a subscription's, or a one-time payment's. */
export interface InvoiceLine {
  id: string;
  status: string;
  subscription: string | null;
  /** The checkout it belongs to (its own or its subscription's metadata). */
  checkoutHash: string | null;
  attemptCount: number;
  amountPaid: number;
}

export type ControlAnswer =
  | { status: number; body: unknown; events?: undefined }
  | { status: number; body?: undefined; events: DoubleEvent[] };

export function billingControl(
  billing: BillingWorld,
  method: string,
  url: URL,
): ControlAnswer | null {
  if (method === "GET" && url.pathname === "/__double/subscriptions") {
    const body = [...billing.subscriptions.values()].map(
      (s): SubscriptionLine => ({
        id: s.id,
        status: s.status,
        customer: s.customer,
        tenantId: s.metadata.tenant_id ?? null,
        checkoutHash: s.metadata.checkout_hash ?? null,
        currentPeriodEnd: s.current_period_end,
        cancelAt: s.cancel_at,
        latestInvoice: s.latest_invoice,
      }),
    );
    return { status: 200, body };
  }
  if (method === "GET" && url.pathname === "/__double/invoices") {
    const body = [...billing.invoices.values()].map(
      (i): InvoiceLine => ({
        id: i.id,
        status: i.status,
        subscription: i.subscription,
        checkoutHash: i.subscription_metadata.checkout_hash ?? i.metadata.checkout_hash ?? null,
        attemptCount: i.attempt_count,
        amountPaid: i.amount_paid,
      }),
    );
    return { status: 200, body };
  }
  if (method === "GET" && url.pathname === "/__double/charges") {
    return { status: 200, body: [...billing.charges.values()] };
  }
  const move =
    /^\/__double\/(subscriptions|charges)\/([^/]+)\/(renew|settle|cancel|pause|resume|refund)$/.exec(
      url.pathname,
    );
  if (!move?.[1] || !move[2] || !move[3]) return null;
  if (method !== "POST") return { status: 405, body: { error: "use POST" } };
  const [kind, id, action] = [move[1], move[2], move[3]];
  const query = url.searchParams;
  try {
    let events: DoubleEvent[];
    if (kind === "charges") {
      if (action !== "refund") return { status: 404, body: { error: "charges can be refunded" } };
      const amount = query.get("amount");
      events = billing.refund(id, amount === null ? undefined : Number(amount));
    } else if (action === "renew") {
      const outcome = query.get("outcome") ?? "paid";
      if (outcome !== "paid" && outcome !== "failed" && outcome !== "processing") {
        return { status: 400, body: { error: "outcome must be paid, failed or processing" } };
      }
      events = billing.renew(id, outcome);
    } else if (action === "settle") {
      const outcome = query.get("outcome") ?? "paid";
      if (outcome !== "paid" && outcome !== "failed") {
        return { status: 400, body: { error: "outcome must be paid or failed" } };
      }
      events = billing.settle(id, outcome);
    } else if (action === "cancel") {
      events = billing.cancel(id, query.get("atPeriodEnd") === "true");
    } else if (action === "pause") {
      events = billing.pause(id);
    } else if (action === "resume") {
      events = billing.resume(id);
    } else {
      return { status: 404, body: { error: `subscriptions cannot be ${action}ed` } };
    }
    return { status: 200, events: query.get("shuffle") === "true" ? shuffled(events) : events };
  } catch (err) {
    return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}
