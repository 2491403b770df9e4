import type Stripe from "stripe";
import { applyEventOnce, hasProcessedEvent, type ProcessedEvent } from "../db/events.ts";
import { OutboxBatch } from "../db/outbox.ts";
import { STRIPE_OPERATIONS } from "../messages.ts";
import { isResourceMissing, toStripeApiError } from "../stripe/errors.ts";
import { billingEventStatements } from "./app-events.ts";
import {
  type BillingChange,
  type ObjectRef,
  type SyncDeps,
  type Synced,
  syncCharge,
  syncInvoice,
  syncSubscription,
  syncSubscriptionAndInvoice,
} from "./sync.ts";

/** The Stripe events that move the billing state, by the object each is about. */
const BILLING_EVENTS: Record<string, "subscription" | "invoice" | "charge"> = {
  "customer.subscription.created": "subscription",
  "customer.subscription.updated": "subscription",
  "customer.subscription.deleted": "subscription",
  "customer.subscription.paused": "subscription",
  "customer.subscription.resumed": "subscription",
  "invoice.paid": "invoice",
  "invoice.payment_failed": "invoice",
  "invoice.finalized": "invoice",
  "invoice.voided": "invoice",
  "invoice.marked_uncollectible": "invoice",
  "charge.refunded": "charge",
  // A refund changed (it failed, or was canceled): the event carries the refund; its charge
  // says what stays refunded.
  "charge.refund.updated": "charge",
};

/** The id of the object to read: the event's object, or for a refund's event its charge. */
function objectIdOf(event: Stripe.Event): unknown {
  const object = event.data.object as { id?: unknown; object?: unknown; charge?: unknown };
  if (object.object !== "refund") return object.id;
  const charge = object.charge;
  return typeof charge === "object" && charge !== null ? (charge as { id?: unknown }).id : charge;
}

export function isBillingEvent(type: string): boolean {
  return type in BILLING_EVENTS;
}

const OPERATION = {
  subscription: STRIPE_OPERATIONS.readSubscription,
  invoice: STRIPE_OPERATIONS.readInvoice,
  charge: STRIPE_OPERATIONS.readCharge,
} as const;

/**
 * Reads what the event is about from Stripe, as it is now, and returns the statements to
 * write it. An invoice of a subscription of ours brings that subscription along (its period and
 * status move with the invoice), and a subscription its latest invoice. An object Stripe says does not exist (for this account) is
 * nothing of ours. Stripe failing throws, so the event stays unrecorded and Stripe delivers it
 * again; the previous state stays as it was.
 */
async function syncFor(deps: SyncDeps, kind: keyof typeof OPERATION, ref: ObjectRef) {
  try {
    if (kind === "subscription") return await syncSubscriptionAndInvoice(deps, ref);
    if (kind === "charge") return await syncCharge(deps, ref);
    const invoice = await syncInvoice(deps, ref);
    const after = invoice.changes[0];
    const subscriptionId = after?.kind === "invoice" ? after.after.subscriptionId : null;
    if (!subscriptionId) return invoice;
    const subscription = await syncSubscription(deps, { ...ref, id: subscriptionId });
    return {
      ours: invoice.ours,
      statements: [...invoice.statements, ...subscription.statements],
      changes: [...invoice.changes, ...subscription.changes],
    };
  } catch (err) {
    if (isResourceMissing(err)) return { ours: false, statements: [], changes: [] } as Synced;
    throw toStripeApiError(err, ref.livemode, OPERATION[kind]);
  }
}

export interface AppliedBillingEvent {
  outcome: "applied" | "duplicate" | "unmatched";
  changes: BillingChange[];
  /** The app's events of the batch, to hand to the queue after the commit. */
  origin?: string;
}

/**
 * A billing event, once: the re-fetched objects, the app's events of what changed, and the
 * event's id, in one batch.
 */
export async function applyBillingEvent(
  deps: SyncDeps,
  event: Stripe.Event,
  processed: ProcessedEvent,
): Promise<AppliedBillingEvent> {
  if (await hasProcessedEvent(deps.db, event.id)) return { outcome: "duplicate", changes: [] };
  const kind = BILLING_EVENTS[event.type];
  const objectId = objectIdOf(event);
  if (!kind || typeof objectId !== "string" || objectId === "") {
    await applyEventOnce(deps.db, processed, []);
    return { outcome: "unmatched", changes: [] };
  }
  const synced = await syncFor(deps, kind, {
    id: objectId,
    livemode: event.livemode,
    account: event.account ?? null,
  });
  const outbox = new OutboxBatch(deps.db, deps.nowMs());
  const events = billingEventStatements(outbox, synced.changes);
  const outcome = await applyEventOnce(deps.db, processed, [
    ...events,
    ...synced.statements,
    ...outbox.finish(),
  ]);
  if (outcome === "duplicate") return { outcome, changes: [] };
  return {
    outcome: synced.ours ? "applied" : "unmatched",
    changes: synced.changes,
    origin: outbox.origin,
  };
}
