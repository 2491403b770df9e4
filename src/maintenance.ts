import { reconcileSubscriptions } from "./billing/reconcile.ts";
import { settleOverdueCheckouts } from "./checkouts/expiry.ts";
import { expireSuperseded } from "./checkouts/supersede.ts";
import { runDueTaxExemptFollowUps } from "./checkouts/tax-exempt.ts";
import type { Config, MAINTENANCE_VARS } from "./config.ts";
import {
  deleteFinishedCheckoutsBefore,
  deleteRefusalsBefore,
  expireOverdueWithoutSession,
  findSupersededOpen,
} from "./db/checkouts.ts";
import type { DeliveryMessage } from "./db/deliveries.ts";
import { deleteEventsReceivedBefore } from "./db/events.ts";
import { JOBS, withJobLease } from "./db/job-leases.ts";
import { deleteEventsBefore } from "./db/webhook-events.ts";
import { enqueueOrigin, sweepDeliveries } from "./outbound/producer.ts";
import { longestStripeCallMs, RunBudget } from "./stripe/budget.ts";
import type { StripeGateway } from "./stripe/client.ts";

/** Rows touched per statement, and statements per kind per run: bounded work for one cron run. */
export const BATCH_SIZE = 500;
const MAX_BATCHES = 20;
/** Sessions read from Stripe per run before their overdue checkouts are settled; the rest wait. */
export const MAX_EXPIRY_READS = 50;
/** Replaced checkouts asked again per run to be expired at Stripe (the create's call failed). */
const MAX_SUPERSEDED_EXPIRIES = 50;
/** Stripe calls per run for follow-ups; the rest wait for the next run (every 10 minutes). */
const MAX_FOLLOW_UPS = 50;
/** Subscriptions read again from Stripe per run (about 15,000 a day at one run each 10 minutes). */
const RECONCILE_BATCH = 100;
/** Deliveries the sweep hands to the queue per run (never handed over, or whose message was lost). */
const SWEEP_BATCH = 500;
/** Kept refusals serve the duplicates that waited for them: seconds; an hour is plenty. */
const REFUSAL_RETENTION_SECONDS = 3_600;

/**
 * The wall time a run may spend starting work: no step, Stripe call or batch starts after it,
 * and what is left waits for the next run. Cloudflare limits a Cron Trigger by CPU time, not by
 * the time it waits, so only this ends a run stuck on a slow Stripe; the schedule is every 10
 * minutes and a run must end well before the next. Most of a run is waiting (D1, Stripe): 20 s
 * is some 50 reads of Stripe and all the D1 batches of a busy run, and a call started just
 * before it still ends within about a minute (longestStripeCallMs).
 */
const RUN_BUDGET_MS = 20_000;

export interface MaintenanceDeps {
  db: D1Database;
  config: Pick<Config, (typeof MAINTENANCE_VARS)[number]>;
  stripeFor: (livemode: boolean) => StripeGateway;
  queue: Queue<DeliveryMessage>;
  /** The run's time for what it records (the trigger's scheduled time). */
  now: () => number;
  /** The wall clock: the run's budget and its leases. */
  nowMs: () => number;
}

export interface MaintenanceResult {
  webhooksSwept: number;
  expired: number;
  sessionsRead: number;
  completionsFound: number;
  followUps: number;
  reconciled: number;
  reconcileChanged: number;
  reconcileFailed: number;
  webhooksEnqueued: number;
  deletedWebhookEvents: number;
  deletedCheckouts: number;
  deletedEvents: number;
  deletedRefusals: number;
  /** What this run did not do, or not all of, and why: the next run does it. */
  skipped: string[];
}

/**
 * The scheduled handler's work, most urgent first, within a time budget:
 * 1. the outbound sweep (app webhooks never handed over, or whose message was lost or is about
 *    to be dropped by the queue's retention);
 * 2. the Stripe work: overdue checkouts (read from Stripe before any open one is expired: a
 *    late completion is recorded, never reported expired), checkouts a newer one of their tenant
 *    replaced that Stripe has not expired yet (two tabs), the follow-ups of recorded
 *    completions, the reconciliation of subscriptions. Each job is held by one run at a time,
 *    and the first Stripe failure (5xx, 429, a timeout) ends them all for this run;
 * 3. the retention: finished checkouts, event ids, app webhooks and kept refusals.
 */
export async function runMaintenance(deps: MaintenanceDeps): Promise<MaintenanceResult> {
  const { db, config } = deps;
  const budget = new RunBudget(deps.nowMs, RUN_BUDGET_MS);
  const holder = crypto.randomUUID();
  const skipped: string[] = [];
  const producer = { db, queue: deps.queue, now: deps.now };
  let webhooksEnqueued = 0;
  const handOver = async (origins: string[]) => {
    for (const origin of origins) webhooksEnqueued += await enqueueOrigin(producer, origin);
  };
  // Past the budget: a step that did not run, or did not finish, says so.
  const inBatches = async (step: string, batch: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      if (!budget.timeLeft()) {
        skipped.push(`${step}: time budget spent`);
        break;
      }
      const changed = await batch();
      total += changed;
      if (changed < BATCH_SIZE) break;
    }
    return total;
  };
  // A lease until the deadline, and the longest pair of calls started just before it.
  const leaseUntil = Math.ceil(
    (budget.deadlineMs + 2 * longestStripeCallMs(config) + 30_000) / 1000,
  );
  const stripeJob = async <T extends { left: number }>(
    step: string,
    job: string,
    work: () => Promise<T>,
  ): Promise<T | null> => {
    const stopped = budget.stopped();
    if (stopped) {
      skipped.push(`${step}: ${stopped}`);
      return null;
    }
    const now = Math.floor(deps.nowMs() / 1000);
    const held = await withJobLease(db, { job, holder, now, until: leaseUntil }, work);
    if (!held) {
      skipped.push(`${step}: another run holds it`);
      return null;
    }
    if (held.value.left > 0) {
      // Without the budget's reason: the reconciliation stopped at our key refused or missing.
      const why = budget.stopped() ?? "stopped at a failure";
      skipped.push(`${step}: ${held.value.left} left, ${why}`);
    }
    return held.value;
  };

  const webhooksSwept = await sweepDeliveries(producer, SWEEP_BATCH);

  const withoutSession: string[] = [];
  let expired = await inBatches("expiry", async () => {
    const batch = await expireOverdueWithoutSession(db, deps.now(), deps.nowMs(), BATCH_SIZE);
    withoutSession.push(batch.origin);
    return batch.expired;
  });
  await handOver(withoutSession);
  const reads = await stripeJob("expiry reads", JOBS.expiryReads, () =>
    settleOverdueCheckouts(deps, budget, MAX_EXPIRY_READS),
  );
  expired += reads?.expired ?? 0;
  await handOver(reads?.origins ?? []);
  const superseded = await stripeJob("replaced checkouts", JOBS.supersededExpiries, async () =>
    expireSuperseded(deps, await findSupersededOpen(db, MAX_SUPERSEDED_EXPIRIES), budget),
  );
  expired += superseded?.origins.length ?? 0;
  await handOver(superseded?.origins ?? []);
  const followUps = await stripeJob("follow-ups", JOBS.followUps, () =>
    runDueTaxExemptFollowUps(deps, MAX_FOLLOW_UPS, budget),
  );
  const reconciled = await stripeJob("reconcile", JOBS.reconcile, () =>
    reconcileSubscriptions(
      { ...deps, resyncHours: config.BILLING_RESYNC_HOURS },
      RECONCILE_BATCH,
      budget,
    ),
  );
  await handOver(reconciled?.origins ?? []);

  const now = deps.now();
  const day = 86_400;
  const deletedWebhookEvents = await inBatches("retention of app webhooks", () =>
    deleteEventsBefore(db, (now - config.WEBHOOK_RETENTION_DAYS * day) * 1000, BATCH_SIZE),
  );
  const deletedCheckouts = await inBatches("retention of checkouts", () =>
    deleteFinishedCheckoutsBefore(db, now - config.RETENTION_DAYS * day, BATCH_SIZE),
  );
  const deletedEvents = await inBatches("retention of Stripe event ids", () =>
    deleteEventsReceivedBefore(db, now - config.EVENT_RETENTION_DAYS * day, BATCH_SIZE),
  );
  const deletedRefusals = await inBatches("retention of refusals", () =>
    deleteRefusalsBefore(db, now - REFUSAL_RETENTION_SECONDS, BATCH_SIZE),
  );
  return {
    webhooksSwept,
    expired,
    sessionsRead: reads?.read ?? 0,
    completionsFound: reads?.completed ?? 0,
    followUps: followUps?.ran ?? 0,
    reconciled: reconciled?.checked ?? 0,
    reconcileChanged: reconciled?.changed.length ?? 0,
    reconcileFailed: reconciled?.failed.length ?? 0,
    webhooksEnqueued,
    deletedWebhookEvents,
    deletedCheckouts,
    deletedEvents,
    deletedRefusals,
    skipped,
  };
}
