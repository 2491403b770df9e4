import { deleteFinishedCheckoutsBefore, expireOverdueCheckouts } from "./db/checkouts.ts";
import { deleteEventsReceivedBefore } from "./db/events.ts";
import type { Config } from "./env.ts";

/** Rows touched per statement, and statements per kind per run: bounded work for one cron run. */
export const BATCH_SIZE = 500;
export const MAX_BATCHES = 20;

export interface MaintenanceResult {
  expired: number;
  deletedCheckouts: number;
  deletedEvents: number;
}

async function inBatches(step: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const changed = await step();
    total += changed;
    if (changed < BATCH_SIZE) break;
  }
  return total;
}

/**
 * The scheduled handler's work: open checkouts past `expires_at` become expired (Stripe
 * expires them itself; this keeps our record true even if the webhook never comes), and
 * finished checkouts and event ids past their retention are deleted.
 */
export async function runMaintenance(
  db: D1Database,
  config: Config,
  now: number,
): Promise<MaintenanceResult> {
  const day = 86_400;
  const expired = await inBatches(() => expireOverdueCheckouts(db, now, BATCH_SIZE));
  const deletedCheckouts = await inBatches(() =>
    deleteFinishedCheckoutsBefore(db, now - config.RETENTION_DAYS * day, BATCH_SIZE),
  );
  const deletedEvents = await inBatches(() =>
    deleteEventsReceivedBefore(db, now - config.EVENT_RETENTION_DAYS * day, BATCH_SIZE),
  );
  return { expired, deletedCheckouts, deletedEvents };
}
