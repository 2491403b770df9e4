/**
 * D1 queries over the follow-ups of recorded completions: for now one kind, setting the tax
 * treatment of a paid checkout's customer at Stripe to what the customer's latest paid checkout
 * says (`reverse` for reverse charge, else `none`).
 */
import type { D1Database } from "@cloudflare/workers-types";
import type { TaxExemptStatus } from "./checkout-rows.ts";

export interface TaxExemptFollowUp {
  checkoutId: string;
  livemode: boolean;
  stripeAccount: string | null;
  customerId: string;
  attempts: number;
  /** What the customer's latest paid checkout says, as this follow-up is read. */
  taxExempt: "reverse" | "none";
}

interface FollowUpRow {
  id: string;
  livemode: number;
  stripe_account: string | null;
  stripe_customer_id: string;
  tax_exempt_attempts: number;
  latest_reverse: number | null;
}

const toFollowUp = (row: FollowUpRow): TaxExemptFollowUp => ({
  checkoutId: row.id,
  livemode: row.livemode === 1,
  stripeAccount: row.stripe_account,
  customerId: row.stripe_customer_id,
  attempts: row.tax_exempt_attempts,
  taxExempt: (row.latest_reverse ?? 0) === 1 ? "reverse" : "none",
});

/** Payment statuses of a checkout that was paid (a refund does not undo the sale's treatment). */
const PAID_CHECKOUT = "('paid', 'no_payment_required', 'refunded', 'partially_refunded')";

/**
 * The follow-up's columns, and the reverse charge of its customer's latest paid checkout: so
 * two follow-ups of one customer that run in any order leave what the latest checkout says.
 */
const COLUMNS = `id, livemode, stripe_account, stripe_customer_id, tax_exempt_attempts,
  (SELECT l.reverse_charge FROM checkout_sessions l
   WHERE l.stripe_customer_id = checkout_sessions.stripe_customer_id AND l.status = 'complete'
     AND l.payment_status IN ${PAID_CHECKOUT}
   ORDER BY l.completed_at DESC, l.created_at DESC, l.rowid DESC LIMIT 1) AS latest_reverse`;

/** Pending follow-ups whose time has come, oldest first, at most `limit`. */
export async function findDueTaxExemptFollowUps(
  db: D1Database,
  now: number,
  limit: number,
): Promise<TaxExemptFollowUp[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM checkout_sessions
       WHERE tax_exempt_status = 'pending' AND tax_exempt_next_at <= ?1 AND stripe_customer_id IS NOT NULL
       ORDER BY tax_exempt_next_at LIMIT ?2`,
    )
    .bind(now, limit)
    .all<FollowUpRow>();
  return results.map(toFollowUp);
}

export async function findPendingTaxExemptFollowUp(
  db: D1Database,
  checkoutId: string,
): Promise<TaxExemptFollowUp | null> {
  const row = await db
    .prepare(
      `SELECT ${COLUMNS} FROM checkout_sessions
       WHERE id = ?1 AND tax_exempt_status = 'pending' AND stripe_customer_id IS NOT NULL`,
    )
    .bind(checkoutId)
    .first<FollowUpRow>();
  return row ? toFollowUp(row) : null;
}

export interface FollowUpOutcome {
  status: TaxExemptStatus;
  error: string | null;
  /** When to try again, for an outcome that stays pending. */
  nextAt: number | null;
}

/** Records one attempt's outcome, if the follow-up was still pending. */
export async function recordTaxExemptAttempt(
  db: D1Database,
  checkoutId: string,
  outcome: FollowUpOutcome,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE checkout_sessions SET tax_exempt_status = ?2, tax_exempt_error = ?3,
         tax_exempt_next_at = ?4, tax_exempt_attempts = tax_exempt_attempts + 1, updated_at = ?5
       WHERE id = ?1 AND tax_exempt_status = 'pending'`,
    )
    .bind(checkoutId, outcome.status, outcome.error, outcome.nextAt, now)
    .run();
}
