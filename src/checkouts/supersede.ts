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
import { recordCompletionRead } from "./completion-read.ts";

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
      if (isStripeRefusal(err)) {
        // Not open at Stripe any more (expired, perhaps by a call whose answer was lost; or
        // paid): what Stripe says of it now is recorded, so it is not asked again every run.
        const origin = await recordAsStripeSays(deps, checkout).catch(() => null);
        if (origin) origins.push(origin);
        continue;
      }
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
    origins.push(await recordExpired(deps, checkout));
  }
  return { origins, left: 0 };
}

/** The row of a checkout found by its session id (it has one). */
const matchOf = (checkout: SupersededCheckout) => ({
  stripeSessionId: checkout.stripeSessionId,
  hash: "",
  livemode: checkout.livemode,
  account: checkout.stripeAccount,
  appId: "",
  mode: "",
});

async function recordExpired(deps: SupersedeDeps, checkout: SupersededCheckout): Promise<string> {
  const outbox = new OutboxBatch(deps.db, deps.nowMs());
  await deps.db.batch([
    ...recordExpiryStatements(deps.db, outbox, matchOf(checkout), deps.now()),
    ...outbox.finish(),
  ]);
  return outbox.origin;
}

/** Reads a session Stripe would not expire and records it expired or completed; null if open. */
async function recordAsStripeSays(
  deps: SupersedeDeps,
  checkout: SupersededCheckout,
): Promise<string | null> {
  const session = await deps
    .stripeFor(checkout.livemode)
    .retrieveCheckoutSession(checkout.stripeSessionId, checkout.stripeAccount);
  if (session.status === "expired") return recordExpired(deps, checkout);
  if (session.status !== "complete") return null;
  return recordCompletionRead(deps, matchOf(checkout), session, { completedAt: deps.now() });
}
