import { recordExpiryStatements } from "../db/checkout-events.ts";
import type { CheckoutRecord } from "../db/checkout-rows.ts";
import { type SupersededCheckout, supersedeStatement } from "../db/checkouts.ts";
import { OutboxBatch } from "../db/outbox.ts";
import { errorForLog } from "../errors.ts";
import { STRIPE_OPERATIONS } from "../messages.ts";
import type { StripeBudget } from "../stripe/budget.ts";
import type { StripeGateway } from "../stripe/client.ts";
import { isStripeRefusal, toStripeApiError } from "../stripe/errors.ts";
import { idempotencyKey } from "../stripe/idempotency.ts";

/** Outside the cron: no time budget; a Stripe failure stops the expiries anyway. */
const UNBOUNDED: StripeBudget = { mayCall: () => true, failed: () => true };

export interface SupersedeDeps {
  db: D1Database;
  stripeFor: (livemode: boolean) => StripeGateway;
  now: () => number;
  nowMs: () => number;
}

/**
 * A completed subscription checkout of a tenant supersedes the tenant's other open ones of the
 * app and mode: the statement for the completion's batch (none for other checkouts).
 */
export function supersededByCompletion(
  db: D1Database,
  record: CheckoutRecord,
  stripeSessionId: string,
  now: number,
): D1PreparedStatement[] {
  if (record.mode !== "subscription" || !record.tenantId) return [];
  return [supersedeStatement(db, record, stripeSessionId, now)];
}

/**
 * Asks Stripe to expire open checkouts that a newer one of the tenant replaced (two tabs must
 * not buy two subscriptions), and records each it expired with its `checkout.expired`, as
 * Stripe's own `checkout.session.expired` would (which then changes nothing). Stripe refusing
 * (the session was completed or expired meanwhile: its events tell) leaves it; Stripe failing
 * stops, and the cron asks again. Returns the origins of the app's events written.
 */
export async function expireSuperseded(
  deps: SupersedeDeps,
  checkouts: readonly SupersededCheckout[],
  budget: StripeBudget = UNBOUNDED,
): Promise<{ origins: string[]; left: number }> {
  const origins: string[] = [];
  for (const [i, checkout] of checkouts.entries()) {
    if (!budget.mayCall()) return { origins, left: checkouts.length - i };
    try {
      // A key per call: expiring is idempotent at Stripe anyway, and a 5xx saved under one key
      // must not hold the next run's call.
      await deps.stripeFor(checkout.livemode).expireCheckoutSession(checkout.stripeSessionId, {
        idempotencyKey: await idempotencyKey("expire", crypto.randomUUID(), checkout),
        stripeAccount: checkout.stripeAccount,
      });
    } catch (err) {
      if (isStripeRefusal(err)) continue;
      const error = toStripeApiError(
        err,
        checkout.livemode,
        STRIPE_OPERATIONS.expireCheckoutSession,
      );
      console.error(
        JSON.stringify({
          supersede: "not expired at Stripe; the cron asks again",
          sessionId: checkout.stripeSessionId,
          error: errorForLog(error, 200),
        }),
      );
      budget.failed(err);
      return { origins, left: checkouts.length - i };
    }
    const outbox = new OutboxBatch(deps.db, deps.nowMs());
    const match = {
      stripeSessionId: checkout.stripeSessionId,
      hash: "",
      livemode: checkout.livemode,
      account: checkout.stripeAccount,
      appId: "",
      mode: "",
    };
    await deps.db.batch([
      ...recordExpiryStatements(deps.db, outbox, match, deps.now()),
      ...outbox.finish(),
    ]);
    origins.push(outbox.origin);
  }
  return { origins, left: 0 };
}
