import type { D1PreparedStatement } from "@cloudflare/workers-types";
import type { OutboxBatch } from "../db/outbox.ts";
import type { OutboundEventType } from "../schemas/outbound.ts";
import type { BillingChange } from "./sync.ts";
import { attemptFailed } from "./view.ts";

/**
 * Which of the app's events a change of billing state is. Subscription and invoice events go
 * after their upsert (they are written only if that very read won); a refund's goes before the
 * checkout's update (it is written only if the refunded amount grows).
 */

/** A subscription in one of these has ended for good. */
const ENDED = new Set(["canceled", "incomplete_expired"]);

const VISIBLE = [
  "status",
  "price",
  "quantity",
  "currentPeriodStart",
  "currentPeriodEnd",
  "cancelAtPeriodEnd",
  "canceledAt",
  "endedAt",
  "trialEnd",
] as const;

function subscriptionEvent(
  change: Extract<BillingChange, { kind: "subscription" }>,
): OutboundEventType | null {
  const { before, after } = change;
  if (!before) return "subscription.created";
  if (ENDED.has(after.status) && !ENDED.has(before.status)) return "subscription.canceled";
  return VISIBLE.some((field) => before[field] !== after[field]) ? "subscription.updated" : null;
}

/**
 * An invoice's events. Its subscription's change of the same batch (every sync of one reads
 * the other along) tells a failed attempt from a SEPA debit still settling: a payment failed
 * when an attempt is failed now and was not before, or a further attempt failed.
 */
function invoiceEvents(
  change: Extract<BillingChange, { kind: "invoice" }>,
  changes: BillingChange[],
): OutboundEventType[] {
  const { before, after } = change;
  const subscription = changes.find(
    (c): c is Extract<BillingChange, { kind: "subscription" }> =>
      c.kind === "subscription" && c.after.id === after.subscriptionId,
  );
  const types: OutboundEventType[] = [];
  if (after.status === "paid" && before?.status !== "paid") types.push("invoice.paid");
  const failedNow = attemptFailed(after, subscription?.after.status);
  const failedBefore =
    before !== null &&
    attemptFailed(before, subscription ? subscription.before?.status : undefined);
  if (failedNow && (!failedBefore || after.attemptCount > (before?.attemptCount ?? 0))) {
    types.push("invoice.payment_failed");
  }
  return types;
}

export function billingEventStatements(
  outbox: OutboxBatch,
  changes: BillingChange[],
): { before: D1PreparedStatement[]; after: D1PreparedStatement[] } {
  const before: D1PreparedStatement[] = [];
  const after: D1PreparedStatement[] = [];
  for (const change of changes) {
    if (change.kind === "subscription") {
      const type = subscriptionEvent(change);
      if (type) {
        after.push(
          outbox.billingEvent(type, "subscription", change.after.id, change.after.fetchedAtMs),
        );
      }
    } else if (change.kind === "invoice") {
      for (const type of invoiceEvents(change, changes)) {
        after.push(outbox.billingEvent(type, "invoice", change.after.id, change.after.fetchedAtMs));
      }
    } else {
      before.push(
        outbox.checkoutEvents("payment.refunded", "id = ?1 AND COALESCE(refunded_amount, 0) < ?2", [
          change.owner.checkoutId,
          change.amountRefunded,
        ]),
      );
    }
  }
  return { before, after };
}
