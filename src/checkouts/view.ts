import { iso, isoOrNull } from "../clock.ts";
import type { Config } from "../config.ts";
import type { CheckoutRecord } from "../db/checkout-rows.ts";
import type { CheckoutDetails, CheckoutView } from "../schemas/responses.ts";

/**
 * An open checkout past its expiry, or replaced by a newer one of its tenant, is expired, whether
 * or not the cron or Stripe said so yet: it can no longer be paid through its page.
 */
function effectiveStatus(record: CheckoutRecord, nowSeconds: number): CheckoutRecord["status"] {
  const over = record.expiresAt <= nowSeconds || record.supersededAt !== null;
  return record.status === "open" && over ? "expired" : record.status;
}

const paymentPage = (record: CheckoutRecord, config: Config) => ({
  url: `${config.PUBLIC_BASE_URL}/checkout/${record.hash}`,
});

/**
 * The create route's `data.checkout`; `id` is the Stripe Checkout Session id, so only a record
 * that has one is ever shown (src/checkouts/create.ts answers the others with an error).
 */
export function toCheckoutView(
  record: CheckoutRecord & { stripeSessionId: string },
  config: Config,
  nowSeconds: number,
): CheckoutView {
  return {
    id: record.stripeSessionId,
    hash: record.hash,
    nextAction: paymentPage(record, config),
    status: effectiveStatus(record, nowSeconds),
    mode: record.mode,
    livemode: record.livemode,
    tenantId: record.tenantId,
    expiresAt: iso(record.expiresAt),
  };
}

/** The read route's `data.checkout`: the stored record, never the state or Stripe's own URL. */
export function toCheckoutDetails(
  record: CheckoutRecord & { stripeSessionId: string },
  config: Config,
  nowSeconds: number,
): CheckoutDetails {
  const status = effectiveStatus(record, nowSeconds);
  return {
    id: record.stripeSessionId,
    hash: record.hash,
    status,
    paymentStatus: record.paymentStatus,
    mode: record.mode,
    livemode: record.livemode,
    tenantId: record.tenantId,
    createdAt: iso(record.createdAt),
    expiresAt: iso(record.expiresAt),
    openedAt: isoOrNull(record.openedAt),
    completedAt: isoOrNull(record.completedAt),
    nextAction: status === "open" ? paymentPage(record, config) : null,
    refund:
      record.refundedAmount !== null && record.refundCurrency !== null
        ? { amount: record.refundedAmount, currency: record.refundCurrency }
        : null,
    customerTaxExempt: record.taxExemptStatus
      ? { status: record.taxExemptStatus, error: record.taxExemptError }
      : null,
  };
}
