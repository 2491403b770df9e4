import type Stripe from "stripe";
import { logDuplicateSubscriptions } from "../billing/duplicates.ts";
import { applyBillingEvent, isBillingEvent } from "../billing/events.ts";
import type { SyncDeps } from "../billing/sync.ts";
import { expireSuperseded, supersededByCompletion } from "../checkouts/supersede.ts";
import { type FollowUpDeps, runTaxExemptFollowUp } from "../checkouts/tax-exempt.ts";
import {
  type EventMatch,
  findCheckoutForEvent,
  recordCompletionStatements,
  recordExpiryStatements,
} from "../db/checkout-events.ts";
import type { CheckoutRecord } from "../db/checkout-rows.ts";
import { findTenantSupersededOpen } from "../db/checkouts.ts";
import { applyEventOnce, hasProcessedEvent } from "../db/events.ts";
import { OutboxBatch } from "../db/outbox.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import type { EventOutcome } from "../schemas/responses.ts";

export type ApplyEventDeps = FollowUpDeps & SyncDeps;

/**
 * What an event did; the follow-up to run once it is acknowledged (never before); and the origin
 * of the app's events its batch wrote, to hand to the queue after the commit.
 */
export interface AppliedEvent {
  outcome: EventOutcome;
  /** Runs after the answer; returns the origins of the app's events it wrote (for the queue). */
  after?: () => Promise<string[]>;
  origin?: string;
}

const HANDLED = new Set([
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
]);

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  typeof value === "string" ? value : (value?.id ?? null);

/**
 * Makes one verified Stripe event true in D1, once: the event id and its effects in one batch.
 * Events of connected accounts are handled the same way (`event.account`); events may arrive in
 * any order, and the SQL never moves a record back (completed never becomes expired, paid never
 * becomes unpaid). No Stripe call happens before the batch: a follow-up (marking a reverse-charge
 * customer) is returned to run after it, so nothing can keep a payment from being recorded.
 */
export async function applyStripeEvent(
  deps: ApplyEventDeps,
  event: Stripe.Event,
): Promise<AppliedEvent> {
  const processed = {
    id: event.id,
    type: event.type,
    livemode: event.livemode,
    account: event.account ?? null,
    createdAt: event.created,
    receivedAt: deps.now(),
  };
  if (isBillingEvent(event.type)) {
    const { outcome, origin, changes } = await applyBillingEvent(deps, event, processed);
    if (outcome !== "applied") return { outcome, origin };
    const after = async () => {
      await logDuplicateSubscriptions(deps.db, changes);
      return [];
    };
    return { outcome, origin, after };
  }
  if (!HANDLED.has(event.type)) return { outcome: "ignored" };
  if (await hasProcessedEvent(deps.db, event.id)) return { outcome: "duplicate" };

  const session = event.data.object as Stripe.Checkout.Session;
  if (typeof session.id !== "string" || !session.id) {
    throw new ApiError("bad_request", MESSAGES.eventWithoutSession);
  }
  const now = deps.now();
  const match: EventMatch = {
    stripeSessionId: session.id,
    hash: session.metadata?.checkout_hash ?? "",
    livemode: event.livemode,
    account: event.account ?? null,
    appId: session.metadata?.app_id ?? "",
    mode: typeof session.mode === "string" ? session.mode : "",
  };
  const record = await findCheckoutForEvent(deps.db, match);
  if (!record) {
    // Not one of ours (another integration on the same account, or deleted by retention).
    return {
      outcome:
        (await applyEventOnce(deps.db, processed, [])) === "applied" ? "unmatched" : "duplicate",
    };
  }

  // The app's events go before the change: each is written only if the change is one.
  const outbox = new OutboxBatch(deps.db, deps.nowMs());
  const completion = event.type !== "checkout.session.expired";
  let effects: D1PreparedStatement[];
  if (!completion) {
    effects = recordExpiryStatements(deps.db, outbox, match, now);
  } else {
    const asyncOutcome =
      event.type === "checkout.session.async_payment_succeeded"
        ? "paid"
        : event.type === "checkout.session.async_payment_failed"
          ? "failed"
          : null;
    effects = recordCompletionStatements(deps.db, outbox, match, {
      paymentStatus: asyncOutcome ?? session.payment_status ?? "unpaid",
      final: asyncOutcome !== null,
      customerId: idOf(session.customer),
      subscriptionId: idOf(session.subscription),
      paymentIntentId: idOf(session.payment_intent),
      setupIntentId: idOf(session.setup_intent),
      completedAt: event.created,
      now,
    });
    // A completed subscription checkout supersedes the tenant's other open ones (two tabs).
    effects.push(...supersededByCompletion(deps.db, record, session.id, now));
  }
  const outcome = await applyEventOnce(deps.db, processed, [...effects, ...outbox.finish()]);
  const origin = outcome === "applied" ? outbox.origin : undefined;
  if (outcome !== "applied" || !completion) return { outcome, origin };
  return { outcome, origin, after: () => afterCompletion(deps, record, idOf(session.customer)) };
}

/**
 * What a recorded completion leaves to do with Stripe: the customer's tax treatment (if the
 * completion left it pending: src/db/checkout-events.ts), and for a subscription checkout the
 * tenant's other open ones it superseded, expired at Stripe. Returns the origins of the app's
 * events written.
 */
async function afterCompletion(
  deps: ApplyEventDeps,
  record: CheckoutRecord,
  customerId: string | null,
): Promise<string[]> {
  if (record.mode !== "setup" && (record.stripeCustomerId !== null || customerId !== null)) {
    await runTaxExemptFollowUp(deps, record.id);
  }
  if (record.mode !== "subscription" || !record.tenantId) return [];
  const key = { appId: record.appId, tenantId: record.tenantId, livemode: record.livemode };
  return (await expireSuperseded(deps, await findTenantSupersededOpen(deps.db, key))).origins;
}
