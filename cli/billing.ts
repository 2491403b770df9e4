import { type ReconcileResult, reconcileSubscriptions } from "../src/billing/reconcile.ts";
import { nowMs, nowSeconds } from "../src/clock.ts";
import { parseConfig } from "../src/config.ts";
import { JOBS, withJobLease } from "../src/db/job-leases.ts";
import { ApiError } from "../src/errors.ts";
import { longestStripeCallMs, RunBudget } from "../src/stripe/budget.ts";
import { stripeGatewaysFor } from "../src/stripe/gateways.ts";
import type { Deps } from "./deps.ts";
import { CommandError, UsageError } from "./errors.ts";

const MAX_LIMIT = 1_000;
/** The most one run of the command spends starting reads; what is left is said, to run again. */
const BUDGET_MS = 5 * 60_000;

/**
 * The cron's reconciliation, now: the subscriptions due to be read again from Stripe (or, with
 * `all`, every live one), at most `limit`, through the worker's own code and D1, with the
 * Stripe keys the worker would use. Returns what changed, what could not be read.
 */
export async function reconcileNow(
  deps: Deps,
  input: { limit: number; all: boolean },
): Promise<ReconcileResult> {
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > MAX_LIMIT) {
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  const { DB, vars } = await deps.bindings();
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(vars);
  } catch (err) {
    throw new CommandError(err instanceof ApiError ? err.message : String(err));
  }
  const stripeFor = stripeGatewaysFor(vars, config);
  const budget = new RunBudget(nowMs, BUDGET_MS);
  // The cron's own job: held by one run at a time, so the two never read a subscription twice.
  const lease = {
    job: JOBS.reconcile,
    holder: crypto.randomUUID(),
    now: nowSeconds(),
    until: Math.ceil((budget.deadlineMs + 2 * longestStripeCallMs(config) + 30_000) / 1000),
  };
  let held: Awaited<ReturnType<typeof withJobLease<ReconcileResult>>>;
  try {
    held = await withJobLease(DB, lease, () =>
      reconcileSubscriptions(
        { db: DB, stripeFor, now: nowSeconds, nowMs, resyncHours: config.BILLING_RESYNC_HOURS },
        input.limit,
        budget,
        // "All": as if every live subscription's time had come.
        input.all ? { dueBy: Number.MAX_SAFE_INTEGER } : {},
      ),
    );
  } catch (err) {
    throw new CommandError(err instanceof Error ? err.message : String(err));
  }
  if (!held) {
    throw new CommandError(
      "A reconciliation is running already (the cron's, or another operator's); run this again in a minute.",
    );
  }
  return held.value;
}
