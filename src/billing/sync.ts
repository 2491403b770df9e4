import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import {
  findCheckoutByPaymentIntent,
  findInvoice,
  findSubscription,
  type InvoiceRecord,
  type Owner,
  recordRefundStatement,
  type SubscriptionRecord,
  upsertInvoiceStatement,
  upsertSubscriptionStatement,
} from "../db/billing.ts";
import { findCheckoutByHash } from "../db/checkouts.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import type { StripeGateway } from "../stripe/client.ts";
import type { SubscriptionAtStripe } from "../stripe/objects.ts";

/**
 * One sync function per kind of Stripe object. Each re-fetches the object from Stripe (with the
 * connected account where the app has one) and returns the statements that write what Stripe
 * says now, plus what changed, for the caller to put in one D1 batch (with the event's id, for
 * a webhook). So it does not matter which event came, how late, how often or in which order:
 * the row ends as Stripe's object is. Objects that no checkout of ours created are ignored.
 */

export interface SyncDeps {
  db: D1Database;
  stripeFor: (livemode: boolean) => StripeGateway;
  /** Unix seconds, and milliseconds for ordering reads (src/clock.ts). */
  now: () => number;
  nowMs: () => number;
  resyncHours: number;
}

/** Which Stripe object, in which mode and account (the event's, or a stored row's). */
export interface ObjectRef {
  id: string;
  livemode: boolean;
  account: string | null;
}

/** A change of billing state, for the app to be told of (issue 15's outbox reads these). */
export type BillingChange =
  | { kind: "subscription"; before: SubscriptionRecord | null; after: SubscriptionRecord }
  | { kind: "invoice"; before: InvoiceRecord | null; after: InvoiceRecord }
  | {
      kind: "refund";
      owner: Omit<Owner, "stripeAccount">;
      chargeId: string;
      amountRefunded: number;
      amount: number;
      currency: string;
      fetchedAtMs: number;
      before: string | null;
    };

export interface Synced {
  /** False for an object no checkout of ours created: nothing to write. */
  ours: boolean;
  statements: D1PreparedStatement[];
  changes: BillingChange[];
  /** A subscription's latest invoice, as Stripe says it is now. */
  latestInvoiceId?: string | null;
}

/** An invoice's owner: one-time invoices and those of an unknown checkout may have no checkout row. */
type InvoiceOwner = Omit<Owner, "checkoutId"> & { checkoutId: string | null };

const NOTHING: Synced = { ours: false, statements: [], changes: [] };

/** A subscription in one of these can never change again: the reconciliation leaves it. */
const FINAL = new Set<SubscriptionAtStripe["status"]>(["canceled", "incomplete_expired"]);

/** Who a Stripe object belongs to, from the checkout its metadata names (app, hash, mode, account). */
async function ownerFromMetadata(
  db: D1Database,
  metadata: Record<string, string>,
  ref: ObjectRef,
): Promise<Owner | null> {
  const hash = metadata.checkout_hash;
  if (!hash || !metadata.app_id) return null;
  const checkout = await findCheckoutByHash(db, hash);
  const mine =
    checkout &&
    checkout.appId === metadata.app_id &&
    checkout.livemode === ref.livemode &&
    (checkout.stripeAccount ?? null) === ref.account;
  if (!mine) return null;
  return {
    appId: checkout.appId,
    tenantId: checkout.tenantId,
    livemode: checkout.livemode,
    stripeAccount: checkout.stripeAccount,
    checkoutId: checkout.id,
  };
}

const ownerOf = (row: Owner): Owner => ({
  appId: row.appId,
  tenantId: row.tenantId,
  livemode: row.livemode,
  stripeAccount: row.stripeAccount,
  checkoutId: row.checkoutId,
});

/**
 * When the reconciliation reads a live subscription again: at the end of its period (when it
 * renews, or fails to), and at least every `resyncHours`; hourly while a period end has passed
 * without the period moving on (a renewal still being tried).
 */
function nextSyncAt(sub: SubscriptionAtStripe, now: number, resyncHours: number): number | null {
  if (FINAL.has(sub.status)) return null;
  const regular = now + resyncHours * 3600;
  const end = sub.currentPeriodEnd;
  if (end === null) return regular;
  return end > now ? Math.min(end + 3600, regular) : Math.min(now + 3600, regular);
}

export async function syncSubscription(deps: SyncDeps, ref: ObjectRef): Promise<Synced> {
  const before = await findSubscription(deps.db, ref.id);
  // The read's start orders it: it sees no state older than this, and any later change sends
  // an event whose read starts later. (Its end would let a slow answer of old state win.)
  const fetchedAtMs = deps.nowMs();
  const sub = await deps.stripeFor(ref.livemode).retrieveSubscription(ref.id, ref.account);
  const owner = before ? ownerOf(before) : await ownerFromMetadata(deps.db, sub.metadata, ref);
  if (!owner) return NOTHING;
  const now = deps.now();
  const after: SubscriptionRecord = {
    ...owner,
    id: sub.id,
    customerId: sub.customerId,
    status: sub.status,
    price: sub.priceId,
    quantity: sub.quantity,
    currentPeriodStart: sub.currentPeriodStart,
    currentPeriodEnd: sub.currentPeriodEnd,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    cancelAt: sub.cancelAt,
    billingMode: sub.billingMode,
    canceledAt: sub.canceledAt,
    endedAt: sub.endedAt,
    trialEnd: sub.trialEnd,
    createdAt: sub.created,
    fetchedAtMs,
    syncedAt: now,
    nextSyncAt: nextSyncAt(sub, now, deps.resyncHours),
  };
  return {
    ours: true,
    statements: [upsertSubscriptionStatement(deps.db, after)],
    changes: [{ kind: "subscription", before, after }],
    latestInvoiceId: sub.latestInvoiceId,
  };
}

export async function syncInvoice(deps: SyncDeps, ref: ObjectRef): Promise<Synced> {
  const before = await findInvoice(deps.db, ref.id);
  // The read's start orders it: it sees no state older than this, and any later change sends
  // an event whose read starts later. (Its end would let a slow answer of old state win.)
  const fetchedAtMs = deps.nowMs();
  const invoice = await deps.stripeFor(ref.livemode).retrieveInvoice(ref.id, ref.account);
  const subscription = invoice.subscriptionId
    ? await findSubscription(deps.db, invoice.subscriptionId)
    : null;
  // Ours through the subscription it bills, or through the checkout its metadata names (the
  // invoice of a one-time checkout carries ours; a subscription's carries the subscription's).
  const owner: InvoiceOwner | null = before
    ? {
        appId: before.appId,
        tenantId: before.tenantId,
        livemode: before.livemode,
        stripeAccount: before.stripeAccount,
        checkoutId: before.checkoutId,
      }
    : subscription
      ? ownerOf(subscription)
      : ((await ownerFromMetadata(deps.db, invoice.subscriptionMetadata, ref)) ??
        (await ownerFromMetadata(deps.db, invoice.metadata, ref)));
  if (!owner) return NOTHING;
  const after: InvoiceRecord = {
    ...owner,
    id: invoice.id,
    customerId: invoice.customerId,
    subscriptionId: invoice.subscriptionId,
    status: invoice.status,
    currency: invoice.currency,
    amountDue: invoice.amountDue,
    amountPaid: invoice.amountPaid,
    amountRemaining: invoice.amountRemaining,
    attemptCount: invoice.attemptCount,
    hostedInvoiceUrl: invoice.hostedInvoiceUrl,
    invoicePdf: invoice.invoicePdf,
    periodStart: invoice.periodStart,
    periodEnd: invoice.periodEnd,
    paidAt: invoice.paidAt,
    createdAt: invoice.created,
    fetchedAtMs,
    syncedAt: deps.now(),
  };
  return {
    ours: true,
    statements: [upsertInvoiceStatement(deps.db, after)],
    changes: [{ kind: "invoice", before, after }],
  };
}

/**
 * A subscription and, read after it, its latest invoice: the pair the billing state and the
 * app's events are decided on (a renewal that failed moves both; a SEPA debit still settling
 * moves only the invoice).
 */
export async function syncSubscriptionAndInvoice(deps: SyncDeps, ref: ObjectRef): Promise<Synced> {
  const synced = await syncSubscription(deps, ref);
  if (!synced.ours || !synced.latestInvoiceId) return synced;
  const latest = await syncInvoice(deps, { ...ref, id: synced.latestInvoiceId });
  return {
    ours: true,
    statements: [...synced.statements, ...latest.statements],
    changes: [...synced.changes, ...latest.changes],
    latestInvoiceId: synced.latestInvoiceId,
  };
}

/**
 * A one-time checkout's charge: its refunds (charge.refunded), full or partial, and a refund
 * that failed later (charge.refund.updated: the refunded amount goes down again).
 */
export async function syncCharge(deps: SyncDeps, ref: ObjectRef): Promise<Synced> {
  // The read's start orders it, as for subscriptions and invoices.
  const fetchedAtMs = deps.nowMs();
  const charge = await deps.stripeFor(ref.livemode).retrieveCharge(ref.id, ref.account);
  if (!charge.paymentIntentId) return NOTHING;
  const checkout = await findCheckoutByPaymentIntent(
    deps.db,
    charge.paymentIntentId,
    ref.livemode,
    ref.account,
  );
  if (!checkout) {
    // A checkout of ours whose completion (which records the payment intent) is not written
    // yet: refused, so Stripe delivers the refund again instead of it being lost.
    const owner = await ownerFromMetadata(deps.db, charge.paymentIntentMetadata, ref);
    if (owner) throw new ApiError("conflict", MESSAGES.refundBeforeCompletion);
    return NOTHING;
  }
  const read = { ...charge, fetchedAtMs };
  return {
    ours: true,
    statements: [recordRefundStatement(deps.db, checkout.id, read, deps.now())],
    changes: [
      {
        kind: "refund",
        owner: {
          appId: checkout.appId,
          tenantId: checkout.tenantId,
          livemode: ref.livemode,
          checkoutId: checkout.id,
        },
        chargeId: charge.id,
        amountRefunded: charge.amountRefunded,
        amount: charge.amount,
        currency: charge.currency,
        fetchedAtMs,
        before: checkout.paymentStatus,
      },
    ],
  };
}
