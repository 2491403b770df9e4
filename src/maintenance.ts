import { reconcileSubscriptions } from "./billing/reconcile.ts";
import { settleOverdueCheckouts } from "./checkouts/expiry.ts";
import { runDueTaxExemptFollowUps } from "./checkouts/tax-exempt.ts";
import type { Config, MAINTENANCE_VARS } from "./config.ts";
import {
  deleteFinishedCheckoutsBefore,
  deleteRefusalsBefore,
  expireOverdueWithoutSession,
} from "./db/checkouts.ts";
import type { DeliveryMessage } from "./db/deliveries.ts";
import { deleteEventsReceivedBefore } from "./db/events.ts";
import { deleteEventsBefore } from "./db/webhook-events.ts";
import { enqueueOrigin, sweepDeliveries } from "./outbound/producer.ts";
import { RunBudget } from "./stripe/budget.ts";
import type { StripeGateway } from "./stripe/client.ts";

/** Rows touched per statement, and statements per kind per run: bounded work for one cron run. */
export const BATCH_SIZE = 500;
const MAX_BATCHES = 20;
/** Sessions read from Stripe per run before their overdue checkouts are settled; the rest wait. */
export const MAX_EXPIRY_READS = 50;
/** Stripe calls per run for follow-ups; the rest wait for the next run (every 10 minutes). */
const MAX_FOLLOW_UPS = 50;
/** Subscriptions read again from Stripe per run (about 15,000 a day at one run each 10 minutes). */
const RECONCILE_BATCH = 100;
/** Deliveries the sweep hands to the queue per run (never handed over, or whose message was lost). */
const SWEEP_BATCH = 500;
/** Kept refusals serve the duplicates that waited for them: seconds; an hour is plenty. */
const REFUSAL_RETENTION_SECONDS = 3_600;
/** The wall time a run may spend starting Stripe reads of overdue checkouts. */
const RUN_BUDGET_MS = 20_000;

export interface MaintenanceDeps {
  db: D1Database;
  config: Pick<Config, (typeof MAINTENANCE_VARS)[number]>;
  stripeFor: (livemode: boolean) => StripeGateway;
  queue: Queue<DeliveryMessage>;
  now: () => number;
  nowMs: () => number;
}

export interface MaintenanceResult {
  expired: number;
  sessionsRead: number;
  completionsFound: number;
  webhooksEnqueued: number;
  webhooksSwept: number;
  deletedWebhookEvents: number;
  deletedCheckouts: number;
  deletedEvents: number;
  deletedRefusals: number;
  followUps: number;
  reconciled: number;
  reconcileChanged: number;
  reconcileFailed: number;
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
 * The scheduled handler's work: checkouts past `expires_at` are settled (each open one read from
 * Stripe first: a late completion is recorded, never reported expired; one Stripe expired
 * becomes expired here even if its event never comes), follow-ups
 * of recorded completions that failed in a way that may pass are tried again, and finished
 * checkouts, event ids and kept refusals past their retention are deleted.
 */
export async function runMaintenance(deps: MaintenanceDeps): Promise<MaintenanceResult> {
  const { db, config } = deps;
  const now = deps.now();
  const day = 86_400;
  const origins: string[] = [];
  let expired = await inBatches(async () => {
    const batch = await expireOverdueWithoutSession(db, now, deps.nowMs(), BATCH_SIZE);
    origins.push(batch.origin);
    return batch.expired;
  });
  const reads = await settleOverdueCheckouts(
    deps,
    new RunBudget(deps.nowMs, RUN_BUDGET_MS),
    MAX_EXPIRY_READS,
  );
  expired += reads.expired;
  origins.push(...reads.origins);
  const followUps = await runDueTaxExemptFollowUps(deps, MAX_FOLLOW_UPS);
  const reconciled = await reconcileSubscriptions(
    { ...deps, resyncHours: config.BILLING_RESYNC_HOURS },
    RECONCILE_BATCH,
  );
  origins.push(...reconciled.origins);
  // The app's events of this run first, then whatever earlier runs or requests left unsent.
  const producer = { db, queue: deps.queue, now: deps.now };
  let webhooksEnqueued = 0;
  for (const origin of origins) webhooksEnqueued += await enqueueOrigin(producer, origin);
  const webhooksSwept = await sweepDeliveries(producer, SWEEP_BATCH);
  const deletedWebhookEvents = await inBatches(() =>
    deleteEventsBefore(db, (now - config.WEBHOOK_RETENTION_DAYS * day) * 1000, BATCH_SIZE),
  );
  const deletedCheckouts = await inBatches(() =>
    deleteFinishedCheckoutsBefore(db, now - config.RETENTION_DAYS * day, BATCH_SIZE),
  );
  const deletedEvents = await inBatches(() =>
    deleteEventsReceivedBefore(db, now - config.EVENT_RETENTION_DAYS * day, BATCH_SIZE),
  );
  const deletedRefusals = await inBatches(() =>
    deleteRefusalsBefore(db, now - REFUSAL_RETENTION_SECONDS, BATCH_SIZE),
  );
  return {
    expired,
    sessionsRead: reads.read,
    completionsFound: reads.completed,
    webhooksEnqueued,
    webhooksSwept,
    deletedWebhookEvents,
    deletedCheckouts,
    deletedEvents,
    deletedRefusals,
    followUps,
    reconciled: reconciled.checked,
    reconcileChanged: reconciled.changed.length,
    reconcileFailed: reconciled.failed.length,
  };
}
