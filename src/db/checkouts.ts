/** D1 queries of the create path and the read routes over checkout_sessions and its refusals. */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import {
  type CheckoutRecord,
  type CheckoutRow,
  toRecord,
  toRecordOrNull,
} from "./checkout-rows.ts";
import { OutboxBatch } from "./outbox.ts";

export type NewCheckout = Omit<
  CheckoutRecord,
  | "status"
  | "paymentStatus"
  | "stripeSessionId"
  | "stripeUrl"
  | "updatedAt"
  | "openedAt"
  | "completedAt"
  | "taxExemptStatus"
  | "taxExemptError"
  | "refundedAmount"
  | "refundCurrency"
  | "supersededAt"
>;

/** A lease on a pending checkout: who holds it, until when (Unix seconds). */
export interface Lease {
  owner: string;
  expiresAt: number;
}

/**
 * Reserves (app, livemode, state) with a pending row, leased to the caller, and returns it;
 * returns null when the triple is taken, which is how concurrent duplicates find each other:
 * exactly one insert wins.
 */
export async function reserveCheckout(
  db: D1Database,
  c: NewCheckout,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare(
      `INSERT INTO checkout_sessions (
         id, hash, app_id, tenant_id, livemode, state_digest, request_fingerprint, status,
         stripe_account, stripe_customer_id, mode, price, quantity, tax_rate, allowed_country,
         payment_method, billing_address_collection, reverse_charge, created_at, updated_at, expires_at,
         lease_owner, lease_expires_at, created_by)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19, ?20, ?21, ?22)
       ON CONFLICT (app_id, livemode, state_digest) DO NOTHING
       RETURNING *`,
    )
    .bind(
      c.id,
      c.hash,
      c.appId,
      c.tenantId,
      c.livemode ? 1 : 0,
      c.stateDigest,
      c.requestFingerprint,
      c.stripeAccount,
      c.stripeCustomerId,
      c.mode,
      c.price,
      c.quantity,
      c.taxRate,
      c.allowedCountry,
      c.paymentMethod,
      c.billingAddressCollection ? 1 : 0,
      c.reverseCharge ? 1 : 0,
      c.createdAt,
      c.expiresAt,
      c.leaseOwner,
      c.leaseExpiresAt,
      c.createdBy,
    )
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

export async function findCheckoutByState(
  db: D1Database,
  appId: string,
  livemode: boolean,
  stateDigest: string,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare(
      "SELECT * FROM checkout_sessions WHERE app_id = ?1 AND livemode = ?2 AND state_digest = ?3",
    )
    .bind(appId, livemode ? 1 : 0, stateDigest)
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

/**
 * Takes the lease of a pending checkout whose lease was released or ran out, and returns the
 * row as taken; null if another request took it first or the row changed. With `replacement`,
 * the reservation is renewed (a new hash and expiry, so a new Idempotency-Key): for a row whose
 * expiry is too close for Stripe to accept it again.
 */
export async function takeOverPendingCheckout(
  db: D1Database,
  current: CheckoutRecord,
  lease: Lease,
  now: number,
  replacement: { hash: string; expiresAt: number } | null,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare(
      `UPDATE checkout_sessions SET lease_owner = ?3, lease_expires_at = ?4, updated_at = ?5,
         hash = COALESCE(?6, hash), expires_at = COALESCE(?7, expires_at)
       WHERE id = ?1 AND hash = ?2 AND status = 'pending' AND lease_expires_at <= ?5
       RETURNING *`,
    )
    .bind(
      current.id,
      current.hash,
      lease.owner,
      lease.expiresAt,
      now,
      replacement?.hash ?? null,
      replacement?.expiresAt ?? null,
    )
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

/**
 * Gives a lease up (the attempt failed in a way a retry may mend), so a retry need not wait;
 * with `renewal`, the reservation gets a new hash and expiry (a key Stripe spent on a failure).
 */
export async function releaseLease(
  db: D1Database,
  id: string,
  owner: string,
  renewal: { hash: string; expiresAt: number } | null = null,
): Promise<void> {
  await db
    .prepare(
      `UPDATE checkout_sessions SET lease_owner = NULL, lease_expires_at = 0,
         hash = COALESCE(?3, hash), expires_at = COALESCE(?4, expires_at)
       WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'`,
    )
    .bind(id, owner, renewal?.hash ?? null, renewal?.expiresAt ?? null)
    .run();
}

/** The reservation goes on without the tenant's customer (Stripe no longer has it). */
export async function dropReservationCustomer(
  db: D1Database,
  record: CheckoutRecord,
  owner: string,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare(
      `UPDATE checkout_sessions SET stripe_customer_id = NULL
       WHERE id = ?1 AND hash = ?2 AND lease_owner = ?3 AND status = 'pending'
       RETURNING *`,
    )
    .bind(record.id, record.hash, owner)
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

/** An open checkout that a newer one replaced: to be expired at Stripe. */
export interface SupersededCheckout {
  stripeSessionId: string;
  livemode: boolean;
  stripeAccount: string | null;
}

interface SupersededRow {
  stripe_session_id: string | null;
  livemode: number;
  stripe_account: string | null;
}

/** The rows that have a session to expire (a pending one has none yet). */
const toSuperseded = (rows: SupersededRow[]): SupersededCheckout[] =>
  rows.flatMap((r) =>
    r.stripe_session_id
      ? [
          {
            stripeSessionId: r.stripe_session_id,
            livemode: r.livemode === 1,
            stripeAccount: r.stripe_account,
          },
        ]
      : [],
  );

/**
 * Marks the tenant's other subscription checkouts of the app and mode that are open, or still
 * being created at Stripe (pending: a tab whose create was at Stripe when the other completed),
 * superseded by `newer`, if its row still carries that session (a batch whose own write did not
 * happen supersedes nothing); returns those with a session, for Stripe to expire (a pending one
 * is expired when its create records it: markCheckoutOpen). Those already superseded are
 * returned again: asking Stripe twice to expire one is harmless.
 */
export function supersedeStatement(
  db: D1Database,
  newer: Pick<CheckoutRecord, "id" | "appId" | "tenantId" | "livemode">,
  stripeSessionId: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE checkout_sessions SET superseded_at = COALESCE(superseded_at, ?6)
       WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3 AND mode = 'subscription'
         AND status IN ('open', 'pending') AND id <> ?4
         AND EXISTS (SELECT 1 FROM checkout_sessions n WHERE n.id = ?4 AND n.stripe_session_id = ?5)
       RETURNING stripe_session_id, livemode, stripe_account`,
    )
    .bind(newer.appId, newer.tenantId, newer.livemode ? 1 : 0, newer.id, stripeSessionId, now);
}

/**
 * Records Stripe's session on the pending reservation it was created for (same id and hash),
 * and, for a tenant's subscription checkout, supersedes the tenant's earlier unfinished ones
 * (two tabs must not buy twice: the newest wins). One that was itself superseded while Stripe
 * created it (the other tab was completed meanwhile) is among those to expire. `opened` is false
 * if another request already recorded it, or the reservation was renewed meanwhile (then
 * nothing is superseded).
 */
export async function markCheckoutOpen(
  db: D1Database,
  record: CheckoutRecord,
  session: { stripeSessionId: string; stripeUrl: string },
  now: number,
): Promise<{ opened: boolean; superseded: SupersededCheckout[] }> {
  const open = db
    .prepare(
      `UPDATE checkout_sessions SET status = 'open', stripe_session_id = ?3, stripe_url = ?4,
         updated_at = ?5, lease_owner = NULL, lease_expires_at = 0
       WHERE id = ?1 AND hash = ?2 AND status = 'pending'
       RETURNING stripe_session_id, livemode, stripe_account, superseded_at`,
    )
    .bind(record.id, record.hash, session.stripeSessionId, session.stripeUrl, now);
  if (record.mode !== "subscription" || !record.tenantId) {
    const result = await open.run();
    return { opened: result.meta.changes === 1, superseded: [] };
  }
  const [opened, superseded] = await db.batch<SupersededRow & { superseded_at: number | null }>([
    open,
    supersedeStatement(db, record, session.stripeSessionId, now),
  ]);
  const self = (opened?.results ?? []).filter((r) => r.superseded_at !== null);
  return {
    opened: (opened?.results ?? []).length === 1,
    superseded: toSuperseded([...self, ...(superseded?.results ?? [])]),
  };
}

/** The superseded checkouts Stripe has not expired yet (the cron asks again), at most `limit`. */
export async function findSupersededOpen(
  db: D1Database,
  limit: number,
): Promise<SupersededCheckout[]> {
  const { results } = await db
    .prepare(
      // The partial index holds exactly these rows; without INDEXED BY, SQLite walked every
      // open checkout by status (growth.test.ts).
      `SELECT stripe_session_id, livemode, stripe_account
       FROM checkout_sessions INDEXED BY checkout_sessions_superseded
       WHERE superseded_at IS NOT NULL AND status = 'open' ORDER BY superseded_at LIMIT ?1`,
    )
    .bind(limit)
    .all<SupersededRow>();
  return toSuperseded(results);
}

/** A tenant's superseded subscription checkouts of an app and mode that are still open. */
export async function findTenantSupersededOpen(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
): Promise<SupersededCheckout[]> {
  const { results } = await db
    .prepare(
      `SELECT stripe_session_id, livemode, stripe_account FROM checkout_sessions
       WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3 AND mode = 'subscription'
         AND status IN ('open', 'pending') AND superseded_at IS NOT NULL`,
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0)
    .all<SupersededRow>();
  return toSuperseded(results);
}

export interface Refusal {
  code: "bad_request" | "conflict";
  message: string;
}

/**
 * Frees a state whose Stripe call was refused (nothing claims a session that does not exist)
 * and keeps the refusal, under the reservation's hash, for the duplicates that waited for it:
 * one batch, so a waiter that finds the row gone always finds the refusal.
 */
export async function refuseReservation(
  db: D1Database,
  record: CheckoutRecord,
  owner: string,
  refusal: Refusal,
  now: number,
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT INTO checkout_refusals (hash, app_id, code, message, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hash) DO NOTHING`,
      )
      .bind(record.hash, record.appId, refusal.code, refusal.message, now),
    db
      .prepare(
        "DELETE FROM checkout_sessions WHERE id = ?1 AND hash = ?2 AND lease_owner = ?3 AND status = 'pending'",
      )
      .bind(record.id, record.hash, owner),
  ]);
}

export async function findRefusal(db: D1Database, hash: string): Promise<Refusal | null> {
  return db
    .prepare("SELECT code, message FROM checkout_refusals WHERE hash = ?1")
    .bind(hash)
    .first<Refusal>();
}

/** A checkout of one app by its Stripe session id; another app's checkout is not found. */
export async function findCheckoutBySessionId(
  db: D1Database,
  appId: string,
  stripeSessionId: string,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare("SELECT * FROM checkout_sessions WHERE stripe_session_id = ?1 AND app_id = ?2")
    .bind(stripeSessionId, appId)
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

export async function findCheckoutByHash(
  db: D1Database,
  hash: string,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare("SELECT * FROM checkout_sessions WHERE hash = ?1")
    .bind(hash)
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

/** Records the first time the payment page sent the person on to Stripe; later visits keep it. */
export async function markCheckoutOpened(db: D1Database, id: string, now: number): Promise<void> {
  await db
    .prepare(
      "UPDATE checkout_sessions SET opened_at = ?2, updated_at = ?2 WHERE id = ?1 AND opened_at IS NULL",
    )
    .bind(id, now)
    .run();
}

/**
 * Checkouts past their expiry that have no session at Stripe to ask about (a reservation whose
 * Stripe call never succeeded) become expired, at most `limit`, each with its event: one batch.
 * Open ones are read from Stripe first (findOverdueOpenCheckouts).
 */
export async function expireOverdueWithoutSession(
  db: D1Database,
  now: number,
  nowMs: number,
  limit: number,
): Promise<{ expired: number; origin: string }> {
  const outbox = new OutboxBatch(db, nowMs);
  const due = `id IN (SELECT id FROM checkout_sessions WHERE status IN ('open', 'pending') AND expires_at < ?1
    AND (status = 'pending' OR stripe_session_id IS NULL) LIMIT ?2)`;
  const results = await db.batch([
    outbox.checkoutEvents("checkout.expired", due, [now, limit]),
    db
      .prepare(
        `UPDATE checkout_sessions SET status = 'expired', updated_at = ?1
         WHERE id IN (SELECT object_id FROM webhook_events WHERE origin = ?2)`,
      )
      .bind(now, outbox.origin),
    ...outbox.finish(),
  ]);
  return { expired: results[1]?.meta.changes ?? 0, origin: outbox.origin };
}

/**
 * Open checkouts past their expiry, with a session at Stripe to read before anything is
 * recorded, at most `limit`: those never postponed first (lease_expires_at 0), longest overdue
 * first; then those whose postponed read is due, the longest waiting first, so checkouts that
 * cannot be read never take every run's reads. Not those whose read is postponed still.
 */
export async function findOverdueOpenCheckouts(
  db: D1Database,
  now: number,
  limit: number,
): Promise<CheckoutRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM checkout_sessions
       WHERE status = 'open' AND expires_at < ?1 AND stripe_session_id IS NOT NULL AND lease_expires_at <= ?1
       ORDER BY lease_expires_at, expires_at LIMIT ?2`,
    )
    .bind(now, limit)
    .all<CheckoutRow>();
  return results.map(toRecord);
}

/**
 * An open checkout whose session could not be read (an account no longer ours, a key missing)
 * is not read again before `until`, so it cannot take every run's reads. Its lease columns
 * serve: the create path's lease ends when the checkout opens.
 */
export async function postponeExpiryRead(db: D1Database, id: string, until: number): Promise<void> {
  await db
    .prepare("UPDATE checkout_sessions SET lease_expires_at = ?2 WHERE id = ?1 AND status = 'open'")
    .bind(id, until)
    .run();
}

/** Deletes at most `limit` finished checkouts created before `cutoff`. */
export async function deleteFinishedCheckoutsBefore(
  db: D1Database,
  cutoff: number,
  limit: number,
): Promise<number> {
  const result = await db
    .prepare(
      `DELETE FROM checkout_sessions WHERE id IN (
         SELECT id FROM checkout_sessions WHERE created_at < ?1 AND status IN ('complete', 'expired') LIMIT ?2)`,
    )
    .bind(cutoff, limit)
    .run();
  return result.meta.changes;
}

/** Deletes at most `limit` kept refusals made before `cutoff`. */
export async function deleteRefusalsBefore(
  db: D1Database,
  cutoff: number,
  limit: number,
): Promise<number> {
  const result = await db
    .prepare(
      "DELETE FROM checkout_refusals WHERE hash IN (SELECT hash FROM checkout_refusals WHERE created_at < ?1 LIMIT ?2)",
    )
    .bind(cutoff, limit)
    .run();
  return result.meta.changes;
}
