import type { D1PreparedStatement } from "@cloudflare/workers-types";
import { REFUND_EVENTS } from "../db/billing.ts";
import { invoiceEventStatement, subscriptionEventStatement } from "../db/billing-events.ts";
import type { OutboxBatch } from "../db/outbox.ts";
import type { BillingChange } from "./sync.ts";
import { attemptFailed } from "./view.ts";

/**
 * The app's events of a sync's changes: statements to put into its batch before the sync's own
 * writes, each deciding in SQL whether its change is one (src/db/billing-events.ts), so that
 * overlapping syncs of the same change tell it once. Whether an invoice's attempt failed is read
 * from this very sync (a renewal that failed moves its subscription to past_due; a SEPA debit
 * still settling leaves it active, which is no failure).
 */
export function billingEventStatements(
  outbox: OutboxBatch,
  changes: BillingChange[],
): D1PreparedStatement[] {
  return changes.flatMap((change) => {
    if (change.kind === "subscription") return subscriptionEventStatement(outbox, change.after);
    if (change.kind === "invoice") {
      const subscription = changes.find(
        (c): c is Extract<BillingChange, { kind: "subscription" }> =>
          c.kind === "subscription" && c.after.id === change.after.subscriptionId,
      );
      const failedNow = attemptFailed(change.after, subscription?.after.status);
      return invoiceEventStatement(outbox, change.after, failedNow);
    }
    const params = [change.owner.checkoutId, change.amountRefunded, change.fetchedAtMs];
    return (["payment.refunded", "payment.refund_failed"] as const).map((type) =>
      outbox.checkoutEvents(type, REFUND_EVENTS[type], params),
    );
  });
}
