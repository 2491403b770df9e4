/** The statements that make Stripe's checkout.session events true in checkout_sessions. */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import { type CheckoutRecord, type CheckoutRow, toRecordOrNull } from "./checkout-rows.ts";
import type { OutboxBatch } from "./outbox.ts";

/**
 * How a Stripe event finds its checkout: by session id, or, for a row whose Stripe call
 * succeeded but was never recorded, by the hash in the session's metadata, and then only if
 * the metadata's app and the session's mode are the row's too. Livemode and connected account
 * must always agree, so one account's events cannot touch another's checkouts. At most one row:
 * the hash is tried only when no row carries the session id, so metadata that names another
 * checkout (a session of one, the hash of another) never reaches a second row.
 */
export interface EventMatch {
  stripeSessionId: string;
  hash: string;
  livemode: boolean;
  account: string | null;
  appId: string;
  mode: string;
}

/** Uses ?1…?6; the statements built on it number their own parameters from ?7. */
const MATCH_SQL = `(stripe_session_id = ?1
    OR (stripe_session_id IS NULL AND hash = ?2 AND app_id = ?5 AND mode = ?6
      AND NOT EXISTS (SELECT 1 FROM checkout_sessions WHERE stripe_session_id = ?1)))
  AND livemode = ?3 AND COALESCE(stripe_account, '') = ?4`;

function matchParams(m: EventMatch): [string, string, number, string, string, string] {
  return [m.stripeSessionId, m.hash, m.livemode ? 1 : 0, m.account ?? "", m.appId, m.mode];
}

export async function findCheckoutForEvent(
  db: D1Database,
  m: EventMatch,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare(`SELECT * FROM checkout_sessions WHERE ${MATCH_SQL}`)
    .bind(...matchParams(m))
    .first<CheckoutRow>();
  return toRecordOrNull(row);
}

export interface Completion {
  /** Stripe's payment_status; `final` ones (paid/failed from the async events) always win. */
  paymentStatus: string;
  final: boolean;
  customerId: string | null;
  subscriptionId: string | null;
  paymentIntentId: string | null;
  setupIntentId: string | null;
  completedAt: number;
  now: number;
}

/**
 * The payment status a completion leaves (?7 is the event's): a refund (charge.refunded) comes
 * after the payment and stays; a final status (the async events') beats an early one.
 */
function paymentStatusAfter(final: boolean): string {
  return final
    ? "CASE WHEN payment_status IN ('refunded', 'partially_refunded') THEN payment_status ELSE ?7 END"
    : "CASE WHEN payment_status IN ('paid', 'failed', 'refunded', 'partially_refunded') THEN payment_status ELSE ?7 END";
}

/**
 * A checkout paid now whose customer's tax treatment may have to change: it is reverse charge
 * (its customer must be `reverse`), or its customer had a reverse-charge checkout before (and
 * must be `none` again). The completion leaves the follow-up pending in the same statement; it
 * runs after the completion is recorded, and sets what the customer's latest paid checkout
 * says (src/db/follow-ups.ts). An unpaid checkout changes nothing at Stripe.
 */
function needsTaxExempt(final: boolean): string {
  return `mode <> 'setup' AND tax_exempt_status IS NULL AND COALESCE(?8, stripe_customer_id) IS NOT NULL
  AND ${paymentStatusAfter(final)} IN ('paid', 'no_payment_required')
  AND (reverse_charge = 1 OR EXISTS (SELECT 1 FROM checkout_sessions p
    WHERE p.stripe_customer_id = COALESCE(?8, checkout_sessions.stripe_customer_id)
      AND p.reverse_charge = 1 AND p.id <> checkout_sessions.id))`;
}

/**
 * The app's events of a completion, to be placed before completeCheckoutStatement in its batch:
 * each is written only if the completion changes what it names (the row as it is before).
 */
function completionEventStatements(
  outbox: OutboxBatch,
  m: EventMatch,
  c: Pick<Completion, "paymentStatus" | "final">,
): D1PreparedStatement[] {
  const after = paymentStatusAfter(c.final);
  const params = [...matchParams(m), c.paymentStatus];
  return [
    outbox.checkoutEvents("checkout.completed", `${MATCH_SQL} AND status <> 'complete'`, params),
    outbox.checkoutEvents(
      "checkout.payment_succeeded",
      `${MATCH_SQL} AND ${after} = 'paid' AND COALESCE(payment_status, '') <> 'paid'`,
      params,
    ),
    outbox.checkoutEvents(
      "checkout.payment_failed",
      `${MATCH_SQL} AND ${after} = 'failed' AND COALESCE(payment_status, '') <> 'failed'`,
      params,
    ),
  ];
}

/** The app's event of an expiry, before expireCheckoutStatement: only if it expires now. */
function expiryEventStatement(outbox: OutboxBatch, m: EventMatch): D1PreparedStatement {
  return outbox.checkoutEvents(
    "checkout.expired",
    `${MATCH_SQL} AND status IN ('open', 'pending')`,
    matchParams(m),
  );
}

/**
 * Marks a checkout complete. Never moves a record back: an expired one that Stripe reports
 * completed becomes complete (Stripe is the truth), a complete one stays complete, and a final
 * payment status (paid, failed) is not overwritten by an earlier "unpaid".
 */
function completeCheckoutStatement(
  db: D1Database,
  m: EventMatch,
  c: Completion,
): D1PreparedStatement {
  const paymentStatus = paymentStatusAfter(c.final);
  const taxExempt = needsTaxExempt(c.final);
  return db
    .prepare(
      `UPDATE checkout_sessions SET
         status = 'complete',
         stripe_session_id = COALESCE(stripe_session_id, ?1),
         payment_status = ${paymentStatus},
         tax_exempt_status = CASE WHEN ${taxExempt} THEN 'pending' ELSE tax_exempt_status END,
         tax_exempt_next_at = CASE WHEN ${taxExempt} THEN ?13 ELSE tax_exempt_next_at END,
         stripe_customer_id = COALESCE(?8, stripe_customer_id),
         stripe_subscription_id = COALESCE(?9, stripe_subscription_id),
         stripe_payment_intent_id = COALESCE(?10, stripe_payment_intent_id),
         stripe_setup_intent_id = COALESCE(?11, stripe_setup_intent_id),
         completed_at = COALESCE(completed_at, ?12),
         lease_owner = NULL,
         lease_expires_at = 0,
         updated_at = ?13
       WHERE ${MATCH_SQL}`,
    )
    .bind(
      ...matchParams(m),
      c.paymentStatus,
      c.customerId,
      c.subscriptionId,
      c.paymentIntentId,
      c.setupIntentId,
      c.completedAt,
      c.now,
    );
}

/** Expires an open or pending checkout; a completed one is never expired. */
function expireCheckoutStatement(db: D1Database, m: EventMatch, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE checkout_sessions SET status = 'expired', stripe_session_id = COALESCE(stripe_session_id, ?1),
         lease_owner = NULL, lease_expires_at = 0, updated_at = ?7
       WHERE ${MATCH_SQL} AND status IN ('open', 'pending')`,
    )
    .bind(...matchParams(m), now);
}

/** Remembers the tenant's Stripe customer for its mode (the first one learnt is kept). */
function rememberTenantCustomerStatement(
  db: D1Database,
  m: EventMatch,
  customerId: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tenant_customers (app_id, tenant_id, livemode, stripe_customer_id, created_at, updated_at)
       SELECT app_id, tenant_id, livemode, ?7, ?8, ?8 FROM checkout_sessions
       WHERE ${MATCH_SQL} AND tenant_id IS NOT NULL
       ON CONFLICT (app_id, tenant_id, livemode) DO NOTHING`,
    )
    .bind(...matchParams(m), customerId, now);
}

/**
 * Everything a completion records, in its batch's order: the app's events (each only if the
 * completion changes what it names), the checkout, and the tenant's customer. One list for
 * Stripe's completion events and for the cron's read of a completed session, so a completion is
 * recorded the same way whichever learns of it first, and the other then changes nothing.
 */
export function recordCompletionStatements(
  db: D1Database,
  outbox: OutboxBatch,
  m: EventMatch,
  c: Completion,
): D1PreparedStatement[] {
  return [
    ...completionEventStatements(outbox, m, c),
    completeCheckoutStatement(db, m, c),
    ...(c.customerId ? [rememberTenantCustomerStatement(db, m, c.customerId, c.now)] : []),
  ];
}

/** An expiry, in its batch's order: the app's event (only if it expires now), then the checkout. */
export function recordExpiryStatements(
  db: D1Database,
  outbox: OutboxBatch,
  m: EventMatch,
  now: number,
): D1PreparedStatement[] {
  return [expiryEventStatement(outbox, m), expireCheckoutStatement(db, m, now)];
}
