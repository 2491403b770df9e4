import { iso, isoOrNull } from "../clock.ts";
import type { InvoiceRecord, SubscriptionRecord } from "../db/billing.ts";
import type { BillingView, InvoiceView, SubscriptionView } from "../schemas/billing.ts";

/** The statuses in which a subscription is paid for, up to its current period's end. */
const PAID = new Set(["active", "trialing"]);

function subscriptionView(
  s: SubscriptionRecord & { duplicateOf: string | null },
): SubscriptionView {
  return {
    id: s.id,
    status: s.status,
    price: s.price,
    quantity: s.quantity,
    currentPeriodStart: isoOrNull(s.currentPeriodStart),
    currentPeriodEnd: isoOrNull(s.currentPeriodEnd),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    cancelAt: isoOrNull(s.cancelAt),
    billingMode: s.billingMode,
    canceledAt: isoOrNull(s.canceledAt),
    endedAt: isoOrNull(s.endedAt),
    trialEnd: isoOrNull(s.trialEnd),
    duplicateOf: s.duplicateOf,
    syncedAt: iso(s.syncedAt),
  };
}

function invoiceView(i: InvoiceRecord): InvoiceView {
  return {
    id: i.id,
    status: i.status,
    subscriptionId: i.subscriptionId,
    currency: i.currency,
    amountDue: i.amountDue,
    amountPaid: i.amountPaid,
    amountRemaining: i.amountRemaining,
    attemptCount: i.attemptCount,
    hostedInvoiceUrl: i.hostedInvoiceUrl,
    invoicePdf: i.invoicePdf,
    periodStart: isoOrNull(i.periodStart),
    periodEnd: isoOrNull(i.periodEnd),
    paidAt: isoOrNull(i.paidAt),
    createdAt: iso(i.createdAt),
  };
}

/**
 * An attempt to pay the invoice failed and it is not paid: open after at least one attempt,
 * unless its subscription is still active or trialing. Stripe makes a subscription `past_due`
 * when a renewal's payment fails, but counts a SEPA debit's attempt when it starts and keeps the
 * invoice open for the days it takes to settle, the subscription active: that is no failure.
 * `subscriptionStatus` is undefined when the subscription is not known (then open and attempted
 * is failed, as for an invoice of no subscription).
 */
export function attemptFailed(
  invoice: Pick<InvoiceRecord, "status" | "attemptCount" | "subscriptionId">,
  subscriptionStatus: string | undefined,
): boolean {
  if (invoice.status !== "open" || invoice.attemptCount === 0) return false;
  return (
    !invoice.subscriptionId || subscriptionStatus === undefined || !PAID.has(subscriptionStatus)
  );
}

/**
 * The latest invoice that asks for money (not a draft, not void) failed and is not paid: its
 * attempt failed, or it was given up on (uncollectible).
 */
function paymentFailed(invoices: InvoiceRecord[], subscriptions: SubscriptionRecord[]): boolean {
  const latest = invoices.find((i) => i.status !== "draft" && i.status !== "void");
  if (!latest) return false;
  const subscription = subscriptions.find((s) => s.id === latest.subscriptionId);
  return latest.status === "uncollectible" || attemptFailed(latest, subscription?.status);
}

/** What an app needs to decide what a tenant may use (SPEC: tenant billing state). */
export function toBillingView(input: {
  tenantId: string;
  livemode: boolean;
  customerId: string | null;
  subscriptions: (SubscriptionRecord & { duplicateOf: string | null })[];
  invoices: InvoiceRecord[];
}): BillingView {
  const paidEnds = input.subscriptions
    .filter((s) => PAID.has(s.status) && s.currentPeriodEnd !== null)
    .map((s) => s.currentPeriodEnd as number);
  return {
    tenantId: input.tenantId,
    livemode: input.livemode,
    customerId: input.customerId,
    paidUntil: paidEnds.length > 0 ? iso(Math.max(...paidEnds)) : null,
    paymentFailed: paymentFailed(input.invoices, input.subscriptions),
    subscriptions: input.subscriptions.map(subscriptionView),
    invoices: input.invoices.map(invoiceView),
  };
}
