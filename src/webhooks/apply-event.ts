import type Stripe from "stripe";
import {
  completeCheckoutStatement,
  type EventMatch,
  expireCheckoutStatement,
  findCheckoutForEvent,
  rememberTenantCustomerStatement,
} from "../db/checkouts.ts";
import { applyEventOnce, hasProcessedEvent } from "../db/events.ts";
import { ApiError } from "../errors.ts";
import type { StripeGateway } from "../stripe/client.ts";
import { toStripeApiError } from "../stripe/errors.ts";

export type EventOutcome = "applied" | "duplicate" | "ignored" | "unmatched";

export interface ApplyEventDeps {
  db: D1Database;
  stripeFor: (livemode: boolean) => StripeGateway;
  now: () => number;
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
 * Makes one verified Stripe event true in D1, once. Events of connected accounts are handled
 * the same way (`event.account`); events may arrive in any order, and the SQL never moves a
 * record back (completed never becomes expired, paid never becomes unpaid).
 */
export async function applyStripeEvent(
  deps: ApplyEventDeps,
  event: Stripe.Event,
): Promise<EventOutcome> {
  if (!HANDLED.has(event.type)) return "ignored";
  if (await hasProcessedEvent(deps.db, event.id)) return "duplicate";

  const session = event.data.object as Stripe.Checkout.Session;
  if (typeof session.id !== "string" || !session.id) {
    throw new ApiError(
      "bad_request",
      "Malformed event: a checkout.session event without a session id",
    );
  }
  const now = deps.now();
  const match: EventMatch = {
    stripeSessionId: session.id,
    hash: session.metadata?.checkout_hash ?? "",
    livemode: event.livemode,
    account: event.account ?? null,
  };
  const processed = {
    id: event.id,
    type: event.type,
    livemode: event.livemode,
    account: event.account ?? null,
    createdAt: event.created,
    receivedAt: now,
  };

  const record = await findCheckoutForEvent(deps.db, match);
  if (!record) {
    // Not one of ours (another integration on the same account, or deleted by retention).
    await applyEventOnce(deps.db, processed, []);
    return "unmatched";
  }

  const effects: D1PreparedStatement[] = [];
  if (event.type === "checkout.session.expired") {
    effects.push(expireCheckoutStatement(deps.db, match, now));
  } else {
    const customerId = idOf(session.customer);
    const asyncOutcome =
      event.type === "checkout.session.async_payment_succeeded"
        ? "paid"
        : event.type === "checkout.session.async_payment_failed"
          ? "failed"
          : null;
    if (
      customerId &&
      record.reverseCharge &&
      record.mode !== "setup" &&
      event.type === "checkout.session.completed"
    ) {
      // Checkout created this customer; reverse charge needs it tax-exempt "reverse". Done
      // before the event is recorded, so a failure here makes Stripe deliver it again.
      try {
        await deps.stripeFor(event.livemode).markCustomerReverseCharge(customerId, {
          idempotencyKey: `checkout-edge-reverse-charge-${customerId}`,
          stripeAccount: record.stripeAccount,
        });
      } catch (err) {
        throw toStripeApiError(err, event.livemode);
      }
    }
    effects.push(
      completeCheckoutStatement(deps.db, match, {
        paymentStatus: asyncOutcome ?? session.payment_status ?? "unpaid",
        final: asyncOutcome !== null,
        customerId,
        subscriptionId: idOf(session.subscription),
        paymentIntentId: idOf(session.payment_intent),
        setupIntentId: idOf(session.setup_intent),
        completedAt: event.created,
        now,
      }),
    );
    if (customerId) effects.push(rememberTenantCustomerStatement(deps.db, match, customerId, now));
  }
  return applyEventOnce(deps.db, processed, effects);
}
