/**
 * Which of the app's events a write of billing state is, decided in SQL by the statement itself
 * against the rows as its batch finds them, never from a read taken before: Stripe delivers the
 * events of one moment together, their syncs overlap, and each may carry the same change. D1
 * runs a batch as one transaction, so only the first batch to write a change sees it as one.
 * Each statement goes into the batch before the upserts it tells of (they see the row before).
 */
import type { D1PreparedStatement } from "@cloudflare/workers-types";
import { type InvoiceRecord, RUNNING, type SubscriptionRecord } from "./billing.ts";
import type { OutboxBatch } from "./outbox.ts";

/** A subscription in one of these has ended for good. */
const ENDED = "('canceled', 'incomplete_expired')";

/** A subscription in one of these is paid for, up to its period's end (src/billing/view.ts). */
const PAID = "('active', 'trialing')";

/** The read is written only if no later read was (upsertSubscriptionStatement's rule). */
const NOT_STALE = "(r.id IS NULL OR r.fetched_at_ms <= ?2)";

/**
 * subscription.created for one not known yet, subscription.canceled when it ends, and
 * subscription.updated when anything the app sees of it changes. And when it starts or stops
 * running, subscription.updated for the tenant's newer running ones: whether they duplicate an
 * older one (`duplicateOf`, two tabs paid) changes with it.
 */
export function subscriptionEventStatement(
  outbox: OutboxBatch,
  s: SubscriptionRecord,
): D1PreparedStatement {
  const visible: [string, unknown][] = [
    ["status", s.status],
    ["price", s.price],
    ["quantity", s.quantity],
    ["current_period_start", s.currentPeriodStart],
    ["current_period_end", s.currentPeriodEnd],
    ["cancel_at_period_end", s.cancelAtPeriodEnd ? 1 : 0],
    ["cancel_at", s.cancelAt],
    ["billing_mode", s.billingMode],
    ["canceled_at", s.canceledAt],
    ["ended_at", s.endedAt],
    ["trial_end", s.trialEnd],
  ];
  const first = 6;
  // billing_mode is NULL in rows written before it was kept (migration 0011): learning it is
  // no change the app is told of.
  const changed = visible
    .map(([column], i) =>
      column === "billing_mode"
        ? `(r.billing_mode IS NOT NULL AND r.billing_mode IS NOT ?${first + i})`
        : `r.${column} IS NOT ?${first + i}`,
    )
    .join(" OR ");
  const created = `?${first + visible.length}`;
  const wasRunning = `(r.id IS NOT NULL AND r.status IN ${RUNNING})`;
  return outbox.selectedEvents(
    "subscription",
    `SELECT CASE
       WHEN r.id IS NULL THEN 'subscription.created'
       WHEN NOT ${NOT_STALE} THEN NULL
       WHEN ?6 IN ${ENDED} AND r.status NOT IN ${ENDED} THEN 'subscription.canceled'
       WHEN ${changed} THEN 'subscription.updated'
     END AS type, ?3 AS app_id, ?4 AS tenant_id, ?5 AS livemode, ?1 AS object_id
     FROM (SELECT 1) LEFT JOIN subscriptions r ON r.id = ?1
     UNION ALL
     SELECT 'subscription.updated', d.app_id, d.tenant_id, d.livemode, d.id
     FROM (SELECT 1) LEFT JOIN subscriptions r ON r.id = ?1
       JOIN subscriptions d ON d.app_id = ?3 AND d.tenant_id = ?4 AND d.livemode = ?5
        AND d.id <> ?1 AND d.status IN ${RUNNING}
        AND (d.created_at > ${created} OR (d.created_at = ${created} AND d.id > ?1))
     WHERE ${NOT_STALE} AND ${wasRunning} <> (?6 IN ${RUNNING})`,
    [
      s.id,
      s.fetchedAtMs,
      s.appId,
      s.tenantId,
      s.livemode ? 1 : 0,
      ...visible.map(([, v]) => v),
      s.createdAt,
    ],
  );
}

/**
 * invoice.paid when it is paid now and was not; invoice.payment_failed when an attempt failed
 * now (`failedNow`, from this read and its subscription's) and no failure was told before, or a
 * further attempt failed. A failure told before: open after an attempt while its subscription
 * (as the batch finds it) is not paid for (a SEPA debit still settling is none).
 */
export function invoiceEventStatement(
  outbox: OutboxBatch,
  i: InvoiceRecord,
  failedNow: boolean,
): D1PreparedStatement {
  const failedBefore = `(r.status = 'open' AND r.attempt_count > 0
    AND (r.subscription_id IS NULL OR s.status IS NULL OR s.status NOT IN ${PAID}))`;
  return outbox.selectedEvents(
    "invoice",
    `SELECT t.type, ?3 AS app_id, ?4 AS tenant_id, ?5 AS livemode, ?1 AS object_id
     FROM (SELECT 'invoice.paid' AS type WHERE ?6 = 'paid'
           UNION ALL SELECT 'invoice.payment_failed' WHERE ?8 = 1) t
     LEFT JOIN invoices r ON r.id = ?1
     LEFT JOIN subscriptions s ON s.id = r.subscription_id
     WHERE ${NOT_STALE} AND CASE t.type
       WHEN 'invoice.paid' THEN r.id IS NULL OR r.status IS NOT 'paid'
       ELSE r.id IS NULL OR NOT ${failedBefore} OR ?7 > r.attempt_count
     END`,
    [
      i.id,
      i.fetchedAtMs,
      i.appId,
      i.tenantId,
      i.livemode ? 1 : 0,
      i.status,
      i.attemptCount,
      failedNow ? 1 : 0,
    ],
  );
}
