/**
 * D1 queries over subscriptions and invoices, and the refunds of one-time checkouts. Every write
 * is of an object as Stripe said it was when read (`fetchedAtMs`), and never replaces a row read
 * later: so a late, duplicated or reordered event cannot overwrite newer state. The operator's
 * CLI runs the reconciliation too, so the D1 types are imported rather than global.
 */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";

/** Whose a billing object is: the app, tenant and mode of the checkout that made it. */
export interface Owner {
  appId: string;
  tenantId: string | null;
  livemode: boolean;
  stripeAccount: string | null;
  checkoutId: string;
}

export interface SubscriptionRecord extends Owner {
  id: string;
  customerId: string;
  /** Stripe's status, as Stripe said it (one it added later included). */
  status: string;
  price: string | null;
  quantity: number | null;
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  /** It ends at currentPeriodEnd instead of renewing (in either billing mode). */
  cancelAtPeriodEnd: boolean;
  /** When it will end, or null. */
  cancelAt: number | null;
  /** Stripe's billing mode: flexible (the default of new subscriptions) or classic. */
  billingMode: string;
  canceledAt: number | null;
  endedAt: number | null;
  trialEnd: number | null;
  createdAt: number;
  fetchedAtMs: number;
  syncedAt: number;
  nextSyncAt: number | null;
}

interface SubscriptionRow {
  id: string;
  app_id: string;
  tenant_id: string | null;
  livemode: number;
  stripe_account: string | null;
  checkout_id: string;
  customer_id: string;
  status: string;
  price: string | null;
  quantity: number | null;
  current_period_start: number | null;
  current_period_end: number | null;
  cancel_at_period_end: number;
  cancel_at: number | null;
  billing_mode: string | null;
  canceled_at: number | null;
  ended_at: number | null;
  trial_end: number | null;
  created_at: number;
  fetched_at_ms: number;
  synced_at: number;
  next_sync_at: number | null;
}

const toSubscription = (r: SubscriptionRow): SubscriptionRecord => ({
  id: r.id,
  appId: r.app_id,
  tenantId: r.tenant_id,
  livemode: r.livemode === 1,
  stripeAccount: r.stripe_account,
  checkoutId: r.checkout_id,
  customerId: r.customer_id,
  status: r.status,
  price: r.price,
  quantity: r.quantity,
  currentPeriodStart: r.current_period_start,
  currentPeriodEnd: r.current_period_end,
  cancelAtPeriodEnd: r.cancel_at_period_end === 1,
  cancelAt: r.cancel_at,
  billingMode: r.billing_mode ?? "classic",
  canceledAt: r.canceled_at,
  endedAt: r.ended_at,
  trialEnd: r.trial_end,
  createdAt: r.created_at,
  fetchedAtMs: r.fetched_at_ms,
  syncedAt: r.synced_at,
  nextSyncAt: r.next_sync_at,
});

export async function findSubscription(
  db: D1Database,
  id: string,
): Promise<SubscriptionRecord | null> {
  const row = await db
    .prepare("SELECT * FROM subscriptions WHERE id = ?1")
    .bind(id)
    .first<SubscriptionRow>();
  return row ? toSubscription(row) : null;
}

/** Writes a subscription as read from Stripe, unless a later read was written already. */
export function upsertSubscriptionStatement(
  db: D1Database,
  s: SubscriptionRecord,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO subscriptions (id, app_id, tenant_id, livemode, stripe_account, checkout_id, customer_id,
         status, price, quantity, current_period_start, current_period_end, cancel_at_period_end,
         canceled_at, ended_at, trial_end, created_at, fetched_at_ms, synced_at, next_sync_at,
         cancel_at, billing_mode)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
       ON CONFLICT (id) DO UPDATE SET
         customer_id = excluded.customer_id, status = excluded.status, price = excluded.price,
         quantity = excluded.quantity, current_period_start = excluded.current_period_start,
         current_period_end = excluded.current_period_end,
         cancel_at_period_end = excluded.cancel_at_period_end, cancel_at = excluded.cancel_at,
         billing_mode = excluded.billing_mode, canceled_at = excluded.canceled_at,
         ended_at = excluded.ended_at, trial_end = excluded.trial_end,
         fetched_at_ms = excluded.fetched_at_ms, synced_at = excluded.synced_at,
         next_sync_at = excluded.next_sync_at
       WHERE excluded.fetched_at_ms >= subscriptions.fetched_at_ms`,
    )
    .bind(
      s.id,
      s.appId,
      s.tenantId,
      s.livemode ? 1 : 0,
      s.stripeAccount,
      s.checkoutId,
      s.customerId,
      s.status,
      s.price,
      s.quantity,
      s.currentPeriodStart,
      s.currentPeriodEnd,
      s.cancelAtPeriodEnd ? 1 : 0,
      s.canceledAt,
      s.endedAt,
      s.trialEnd,
      s.createdAt,
      s.fetchedAtMs,
      s.syncedAt,
      s.nextSyncAt,
      s.cancelAt,
      s.billingMode,
    );
}

/** The statuses in which a subscription runs (and is to be paid for): one per tenant at most. */
export const RUNNING = "('trialing', 'active', 'past_due')";

/**
 * The older running subscription of the same tenant, app and mode that the running subscription
 * `o` (an alias) duplicates, or NULL: two tabs paid, and Stripe made two. The oldest is the one
 * kept; every later one names it.
 */
export const duplicateOfSql = (o: string) =>
  `iif(${o}.status IN ${RUNNING}, (SELECT d.id FROM subscriptions d
     WHERE d.app_id = ${o}.app_id AND d.tenant_id = ${o}.tenant_id AND d.livemode = ${o}.livemode
       AND d.id <> ${o}.id AND d.status IN ${RUNNING}
       AND (d.created_at < ${o}.created_at OR (d.created_at = ${o}.created_at AND d.id < ${o}.id))
     ORDER BY d.created_at, d.id LIMIT 1), NULL)`;

/** Which subscriptions of one tenant, app and mode there are, newest first; duplicates named. */
export async function listTenantSubscriptions(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
): Promise<(SubscriptionRecord & { duplicateOf: string | null })[]> {
  const { results } = await db
    .prepare(
      `SELECT s.*, ${duplicateOfSql("s")} AS duplicate_of FROM subscriptions s
       WHERE s.app_id = ?1 AND s.tenant_id = ?2 AND s.livemode = ?3 ORDER BY s.created_at DESC, s.id`,
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0)
    .all<SubscriptionRow & { duplicate_of: string | null }>();
  return results.map((r) => ({ ...toSubscription(r), duplicateOf: r.duplicate_of }));
}

/** The ids of a tenant's running subscriptions of an app and mode, oldest first. */
export async function findRunningSubscriptionIds(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT id FROM subscriptions WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3
         AND status IN ${RUNNING} ORDER BY created_at, id`,
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/**
 * The tenant's current subscription of an app and mode: one that is trialing, active or past
 * due (still running, and still to be paid for), the newest if there are several; with whether
 * the checkout that bought it was reverse charge (null once that checkout is deleted).
 */
export async function findCurrentSubscription(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
): Promise<(SubscriptionRecord & { reverseCharge: boolean | null }) | null> {
  const row = await db
    .prepare(
      `SELECT s.*, c.reverse_charge AS checkout_reverse_charge FROM subscriptions s
         LEFT JOIN checkout_sessions c ON c.id = s.checkout_id
       WHERE s.app_id = ?1 AND s.tenant_id = ?2 AND s.livemode = ?3 AND s.status IN ${RUNNING}
       ORDER BY s.created_at DESC, s.id LIMIT 1`,
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0)
    .first<SubscriptionRow & { checkout_reverse_charge: number | null }>();
  if (!row) return null;
  const reverse = row.checkout_reverse_charge;
  return { ...toSubscription(row), reverseCharge: reverse === null ? null : reverse === 1 };
}

/**
 * The subscription of the tenant's newest subscription checkout completed since `since` whose
 * subscription is not recorded yet (the checkout's completion came before Stripe's subscription
 * events), with that checkout's id; or null.
 */
export async function findSubscriptionAwaitingEvents(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
  since: number,
): Promise<{ id: string; checkoutId: string } | null> {
  return db
    .prepare(
      `SELECT c.stripe_subscription_id AS id, c.id AS checkoutId FROM checkout_sessions c
       WHERE c.app_id = ?1 AND c.tenant_id = ?2 AND c.livemode = ?3 AND c.completed_at >= ?4
         AND c.mode = 'subscription' AND c.status = 'complete' AND c.stripe_subscription_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = c.stripe_subscription_id)
       ORDER BY c.completed_at DESC LIMIT 1`,
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0, since)
    .first<{ id: string; checkoutId: string }>();
}

/** Live subscriptions whose time to be read again has come, the longest waiting first. */
export async function findSubscriptionsDue(
  db: D1Database,
  now: number,
  limit: number,
): Promise<SubscriptionRecord[]> {
  const { results } = await db
    .prepare(
      "SELECT * FROM subscriptions WHERE next_sync_at IS NOT NULL AND next_sync_at <= ?1 ORDER BY next_sync_at LIMIT ?2",
    )
    .bind(now, limit)
    .all<SubscriptionRow>();
  return results.map(toSubscription);
}

export interface InvoiceRecord extends Omit<Owner, "checkoutId"> {
  id: string;
  checkoutId: string | null;
  customerId: string | null;
  subscriptionId: string | null;
  status: string | null;
  currency: string;
  amountDue: number;
  amountPaid: number;
  amountRemaining: number;
  attemptCount: number;
  hostedInvoiceUrl: string | null;
  invoicePdf: string | null;
  periodStart: number | null;
  periodEnd: number | null;
  paidAt: number | null;
  createdAt: number;
  fetchedAtMs: number;
  syncedAt: number;
}

interface InvoiceRow {
  id: string;
  app_id: string;
  tenant_id: string | null;
  livemode: number;
  stripe_account: string | null;
  customer_id: string | null;
  subscription_id: string | null;
  checkout_id: string | null;
  status: string | null;
  currency: string;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  attempt_count: number;
  hosted_invoice_url: string | null;
  invoice_pdf: string | null;
  period_start: number | null;
  period_end: number | null;
  paid_at: number | null;
  created_at: number;
  fetched_at_ms: number;
  synced_at: number;
}

const toInvoice = (r: InvoiceRow): InvoiceRecord => ({
  id: r.id,
  appId: r.app_id,
  tenantId: r.tenant_id,
  livemode: r.livemode === 1,
  stripeAccount: r.stripe_account,
  customerId: r.customer_id,
  subscriptionId: r.subscription_id,
  checkoutId: r.checkout_id,
  status: r.status,
  currency: r.currency,
  amountDue: r.amount_due,
  amountPaid: r.amount_paid,
  amountRemaining: r.amount_remaining,
  attemptCount: r.attempt_count,
  hostedInvoiceUrl: r.hosted_invoice_url,
  invoicePdf: r.invoice_pdf,
  periodStart: r.period_start,
  periodEnd: r.period_end,
  paidAt: r.paid_at,
  createdAt: r.created_at,
  fetchedAtMs: r.fetched_at_ms,
  syncedAt: r.synced_at,
});

export async function findInvoice(db: D1Database, id: string): Promise<InvoiceRecord | null> {
  const row = await db.prepare("SELECT * FROM invoices WHERE id = ?1").bind(id).first<InvoiceRow>();
  return row ? toInvoice(row) : null;
}

/** Writes an invoice as read from Stripe, unless a later read was written already. */
export function upsertInvoiceStatement(db: D1Database, i: InvoiceRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO invoices (id, app_id, tenant_id, livemode, stripe_account, customer_id, subscription_id,
         checkout_id, status, currency, amount_due, amount_paid, amount_remaining, attempt_count,
         hosted_invoice_url, invoice_pdf, period_start, period_end, paid_at, created_at, fetched_at_ms, synced_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
       ON CONFLICT (id) DO UPDATE SET
         status = excluded.status, amount_due = excluded.amount_due,
         amount_paid = excluded.amount_paid, amount_remaining = excluded.amount_remaining,
         attempt_count = excluded.attempt_count, hosted_invoice_url = excluded.hosted_invoice_url,
         invoice_pdf = excluded.invoice_pdf, period_start = excluded.period_start,
         period_end = excluded.period_end, paid_at = excluded.paid_at,
         fetched_at_ms = excluded.fetched_at_ms, synced_at = excluded.synced_at
       WHERE excluded.fetched_at_ms >= invoices.fetched_at_ms`,
    )
    .bind(
      i.id,
      i.appId,
      i.tenantId,
      i.livemode ? 1 : 0,
      i.stripeAccount,
      i.customerId,
      i.subscriptionId,
      i.checkoutId,
      i.status,
      i.currency,
      i.amountDue,
      i.amountPaid,
      i.amountRemaining,
      i.attemptCount,
      i.hostedInvoiceUrl,
      i.invoicePdf,
      i.periodStart,
      i.periodEnd,
      i.paidAt,
      i.createdAt,
      i.fetchedAtMs,
      i.syncedAt,
    );
}

/** The latest invoices of one tenant, app and mode, newest first. */
export async function listTenantInvoices(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
  limit: number,
): Promise<InvoiceRecord[]> {
  const { results } = await db
    .prepare(
      "SELECT * FROM invoices WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3 ORDER BY created_at DESC, period_end DESC, id LIMIT ?4",
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0, limit)
    .all<InvoiceRow>();
  return results.map(toInvoice);
}

/** A completed one-time checkout, found by its payment intent, for its charge's refunds. */
export async function findCheckoutByPaymentIntent(
  db: D1Database,
  paymentIntentId: string,
  livemode: boolean,
  stripeAccount: string | null,
): Promise<{
  id: string;
  appId: string;
  tenantId: string | null;
  paymentStatus: string | null;
} | null> {
  const row = await db
    .prepare(
      `SELECT id, app_id, tenant_id, payment_status FROM checkout_sessions
       WHERE stripe_payment_intent_id = ?1 AND livemode = ?2 AND COALESCE(stripe_account, '') = ?3`,
    )
    .bind(paymentIntentId, livemode ? 1 : 0, stripeAccount ?? "")
    .first<{
      id: string;
      app_id: string;
      tenant_id: string | null;
      payment_status: string | null;
    }>();
  return row
    ? { id: row.id, appId: row.app_id, tenantId: row.tenant_id, paymentStatus: row.payment_status }
    : null;
}

/** A one-time checkout's refunds as read from its charge (`fetchedAtMs`: when the read began). */
export interface RefundRead {
  amountRefunded: number;
  amount: number;
  currency: string;
  fetchedAtMs: number;
}

/** The refunds are written only if no later read of the charge was (?3: the read's time). */
const REFUND_READ_IS_NEWER = "COALESCE(refund_fetched_at_ms, 0) <= ?3";

/**
 * Records a one-time checkout's refunds as Stripe says they are now: `refunded` when all of it,
 * `partially_refunded` when some, `paid` again when every refund failed; with the amount. A
 * refund can fail after it was made (the amount goes down), so the later read wins, never the
 * larger amount; a read of a charge never refunded only records its time (so an older read that
 * saw a refund which has failed since cannot write it).
 */
export function recordRefundStatement(
  db: D1Database,
  checkoutId: string,
  refund: RefundRead,
  now: number,
): D1PreparedStatement {
  const refundedEver = "(refunded_amount IS NOT NULL OR ?2 > 0)";
  return db
    .prepare(
      `UPDATE checkout_sessions SET
         refunded_amount = iif(${refundedEver}, ?2, NULL),
         refund_currency = iif(${refundedEver}, ?4, NULL),
         payment_status = CASE WHEN NOT ${refundedEver} THEN payment_status
           WHEN ?2 >= ?5 THEN 'refunded' WHEN ?2 > 0 THEN 'partially_refunded' ELSE 'paid' END,
         refund_fetched_at_ms = ?3, updated_at = ?6
       WHERE id = ?1 AND ${REFUND_READ_IS_NEWER}`,
    )
    .bind(
      checkoutId,
      refund.amountRefunded,
      refund.fetchedAtMs,
      refund.currency,
      refund.amount,
      now,
    );
}

/**
 * The refund's events, before recordRefundStatement in its batch: `payment.refunded` when the
 * refunded amount grows, `payment.refund_failed` when it goes down (a refund failed), each
 * only for a read newer than the one written.
 */
export const REFUND_EVENTS = {
  "payment.refunded": `id = ?1 AND COALESCE(refunded_amount, 0) < ?2 AND ${REFUND_READ_IS_NEWER}`,
  "payment.refund_failed": `id = ?1 AND COALESCE(refunded_amount, 0) > ?2 AND ${REFUND_READ_IS_NEWER}`,
} as const;

/** A subscription whose read failed is tried again later, not at every run. */
export async function postponeSubscriptionSync(
  db: D1Database,
  id: string,
  until: number,
): Promise<void> {
  await db
    .prepare(
      "UPDATE subscriptions SET next_sync_at = ?2 WHERE id = ?1 AND next_sync_at IS NOT NULL",
    )
    .bind(id, until)
    .run();
}
