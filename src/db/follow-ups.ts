/**
 * D1 queries over the follow-ups of recorded completions: for now one kind, marking a
 * reverse-charge checkout's customer tax-exempt `reverse` at Stripe.
 */
import type { D1Database } from "@cloudflare/workers-types";
import type { TaxExemptStatus } from "./checkout-rows.ts";

export interface TaxExemptFollowUp {
  checkoutId: string;
  livemode: boolean;
  stripeAccount: string | null;
  customerId: string;
  attempts: number;
}

interface FollowUpRow {
  id: string;
  livemode: number;
  stripe_account: string | null;
  stripe_customer_id: string;
  tax_exempt_attempts: number;
}

const toFollowUp = (row: FollowUpRow): TaxExemptFollowUp => ({
  checkoutId: row.id,
  livemode: row.livemode === 1,
  stripeAccount: row.stripe_account,
  customerId: row.stripe_customer_id,
  attempts: row.tax_exempt_attempts,
});

const COLUMNS = "id, livemode, stripe_account, stripe_customer_id, tax_exempt_attempts";

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
