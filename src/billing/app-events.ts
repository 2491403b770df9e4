import type { D1PreparedStatement } from "@cloudflare/workers-types";
import type { OutboxBatch } from "../db/outbox.ts";
import type { OutboundEventType } from "../schemas/outbound.ts";
import type { BillingChange } from "./sync.ts";

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

function invoiceEvents(change: Extract<BillingChange, { kind: "invoice" }>): OutboundEventType[] {
  const { before, after } = change;
  const types: OutboundEventType[] = [];
  if (after.status === "paid" && before?.status !== "paid") types.push("invoice.paid");
  // A new attempt that did not pay it: a failed payment.
  if (after.status !== "paid" && after.attemptCount > (before?.attemptCount ?? 0)) {
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
      for (const type of invoiceEvents(change)) {
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
