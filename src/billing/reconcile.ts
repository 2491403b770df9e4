import {
  findSubscriptionsDue,
  postponeSubscriptionSync,
  type SubscriptionRecord,
} from "../db/billing.ts";
import { OutboxBatch } from "../db/outbox.ts";
import { STRIPE_OPERATIONS } from "../messages.ts";
import type { StripeBudget } from "../stripe/budget.ts";
import { isResourceMissing, toStripeApiError } from "../stripe/errors.ts";
import { billingEventStatements } from "./app-events.ts";
import { type SyncDeps, syncSubscriptionAndInvoice } from "./sync.ts";

/** A failed read is tried again after this long (Stripe down, an account no longer ours). */
const RETRY_AFTER_SECONDS = 3_600;

/** What a subscription looked like before and after a read, where anything an app sees moved. */
interface Reconciled {
  id: string;
  before: Pick<
    SubscriptionRecord,
    "status" | "currentPeriodEnd" | "cancelAtPeriodEnd" | "quantity"
  >;
  after: Pick<SubscriptionRecord, "status" | "currentPeriodEnd" | "cancelAtPeriodEnd" | "quantity">;
}

export interface ReconcileResult {
  checked: number;
  /** Due rows not read: the run's budget ended first (Stripe failing, or its time spent). */
  left: number;
  changed: Reconciled[];
  failed: { id: string; error: string }[];
  /** The batches that wrote app events, to hand to the queue (the sweep would, later). */
  origins: string[];
}

const seen = (s: SubscriptionRecord) => ({
  status: s.status,
  currentPeriodEnd: s.currentPeriodEnd,
  cancelAtPeriodEnd: s.cancelAtPeriodEnd,
  quantity: s.quantity,
});

/**
 * Reads again, from Stripe, the subscriptions whose period has ended or whose last read is
 * older than the configured age, at most `limit` per run, so a missed webhook heals without
 * anyone acting. Each write is its own batch, with the app's events of it; a read that
 * fails leaves the row as it was, to be tried again in an hour; Stripe failing ends the run, and
 * so does the run's budget (its time, or Stripe failing in another of its steps).
 */
export async function reconcileSubscriptions(
  deps: SyncDeps,
  limit: number,
  budget: StripeBudget,
  options: {
    /** Read the subscriptions due by then (default: now; the CLI's --all: any live one). */
    dueBy?: number;
  } = {},
): Promise<ReconcileResult> {
  const due = await findSubscriptionsDue(deps.db, options.dueBy ?? deps.now(), limit);
  const result: ReconcileResult = {
    checked: 0,
    left: 0,
    changed: [],
    failed: [],
    origins: [],
  };
  for (const [i, row] of due.entries()) {
    if (!budget.mayCall()) {
      result.left = due.length - i;
      break;
    }
    result.checked++;
    try {
      const ref = { id: row.id, livemode: row.livemode, account: row.stripeAccount };
      // Its latest invoice too: a missed renewal's invoice says whether its payment failed.
      const synced = await syncSubscriptionAndInvoice(deps, ref);
      const outbox = new OutboxBatch(deps.db, deps.nowMs());
      const events = billingEventStatements(outbox, synced.changes);
      await deps.db.batch([...events, ...synced.statements, ...outbox.finish()]);
      if (!outbox.empty) result.origins.push(outbox.origin);
      const change = synced.changes[0];
      if (change?.kind === "subscription") {
        const [before, after] = [seen(row), seen(change.after)];
        if (JSON.stringify(before) !== JSON.stringify(after)) {
          result.changed.push({ id: row.id, before, after });
        }
      }
    } catch (err) {
      budget.failed(err);
      const missing = isResourceMissing(err);
      const apiError = toStripeApiError(err, row.livemode, STRIPE_OPERATIONS.readSubscription);
      const error = missing ? "Stripe no longer has it (for this account)" : apiError.message;
      result.failed.push({ id: row.id, error });
      await postponeSubscriptionSync(deps.db, row.id, deps.now() + RETRY_AFTER_SECONDS);
      // Stripe down (or our key refused, or missing): the rest wait for the next run instead of
      // each meeting the same failure.
      if (!missing && apiError.status >= 500) {
        result.left = due.length - i - 1;
        break;
      }
    }
  }
  return result;
}
