import { findRunningSubscriptionIds } from "../db/billing.ts";
import type { BillingChange } from "./sync.ts";

/** A subscription in one of these is running: one per tenant, app and mode at most. */
const RUNNING = new Set(["trialing", "active", "past_due"]);

/**
 * Logs a tenant that has more than one running subscription of an app and mode after `changes`
 * (two tabs paid in a race, and Stripe made both): never silent. The billing state names the
 * duplicate (`duplicateOf`) and the app's subscription events carry it; this line is for the
 * operator. Runs after the answer; one read per tenant that has a running subscription changed.
 */
export async function logDuplicateSubscriptions(
  db: D1Database,
  changes: readonly BillingChange[],
): Promise<void> {
  const tenants = new Map<string, { appId: string; tenantId: string; livemode: boolean }>();
  for (const change of changes) {
    if (change.kind !== "subscription" || !RUNNING.has(change.after.status)) continue;
    const { appId, tenantId, livemode } = change.after;
    if (tenantId) tenants.set(`${appId}|${tenantId}|${livemode}`, { appId, tenantId, livemode });
  }
  for (const key of tenants.values()) {
    const subscriptions = await findRunningSubscriptionIds(db, key);
    if (subscriptions.length > 1) {
      console.error(
        JSON.stringify({ billing: "duplicate running subscriptions", ...key, subscriptions }),
      );
    }
  }
}
