/** D1 queries over checkout_sessions and tenant_customers. The only place with SQL. */

export type CheckoutStatus = "pending" | "open" | "complete" | "expired";
export type CheckoutMode = "payment" | "subscription" | "setup";

export interface CheckoutRecord {
  id: string;
  hash: string;
  appId: string;
  tenantId: string | null;
  livemode: boolean;
  stateDigest: string;
  requestFingerprint: string;
  status: CheckoutStatus;
  paymentStatus: string | null;
  stripeSessionId: string | null;
  stripeUrl: string | null;
  stripeAccount: string | null;
  stripeCustomerId: string | null;
  mode: CheckoutMode;
  price: string;
  quantity: number;
  taxRate: string;
  allowedCountry: string;
  paymentMethod: string;
  billingAddressCollection: boolean;
  reverseCharge: boolean;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  openedAt: number | null;
  completedAt: number | null;
}

interface CheckoutRow {
  id: string;
  hash: string;
  app_id: string;
  tenant_id: string | null;
  livemode: number;
  state_digest: string;
  request_fingerprint: string;
  status: CheckoutStatus;
  payment_status: string | null;
  stripe_session_id: string | null;
  stripe_url: string | null;
  stripe_account: string | null;
  stripe_customer_id: string | null;
  mode: CheckoutMode;
  price: string;
  quantity: number;
  tax_rate: string;
  allowed_country: string;
  payment_method: string;
  billing_address_collection: number;
  reverse_charge: number;
  created_at: number;
  updated_at: number;
  expires_at: number;
  opened_at: number | null;
  completed_at: number | null;
}

function toRecord(row: CheckoutRow): CheckoutRecord {
  return {
    id: row.id,
    hash: row.hash,
    appId: row.app_id,
    tenantId: row.tenant_id,
    livemode: row.livemode === 1,
    stateDigest: row.state_digest,
    requestFingerprint: row.request_fingerprint,
    status: row.status,
    paymentStatus: row.payment_status,
    stripeSessionId: row.stripe_session_id,
    stripeUrl: row.stripe_url,
    stripeAccount: row.stripe_account,
    stripeCustomerId: row.stripe_customer_id,
    mode: row.mode,
    price: row.price,
    quantity: row.quantity,
    taxRate: row.tax_rate,
    allowedCountry: row.allowed_country,
    paymentMethod: row.payment_method,
    billingAddressCollection: row.billing_address_collection === 1,
    reverseCharge: row.reverse_charge === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    openedAt: row.opened_at,
    completedAt: row.completed_at,
  };
}

export type NewCheckout = Omit<
  CheckoutRecord,
  | "status"
  | "paymentStatus"
  | "stripeSessionId"
  | "stripeUrl"
  | "updatedAt"
  | "openedAt"
  | "completedAt"
>;

/**
 * Reserves (app, livemode, state) with a pending row and returns it; returns null when the
 * triple is taken, which is how concurrent duplicates find each other: exactly one insert wins.
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
         payment_method, billing_address_collection, reverse_charge, created_at, updated_at, expires_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19)
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
    )
    .first<CheckoutRow>();
  return row ? toRecord(row) : null;
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
  return row ? toRecord(row) : null;
}

/** Records Stripe's session on a pending row. Returns false if another request already did. */
export async function markCheckoutOpen(
  db: D1Database,
  id: string,
  session: { stripeSessionId: string; stripeUrl: string },
  now: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE checkout_sessions SET status = 'open', stripe_session_id = ?2, stripe_url = ?3, updated_at = ?4
       WHERE id = ?1 AND status = 'pending'`,
    )
    .bind(id, session.stripeSessionId, session.stripeUrl, now)
    .run();
  return result.meta.changes === 1;
}

/** Frees a state whose Stripe call was refused, so nothing claims a session that does not exist. */
export async function deletePendingCheckout(db: D1Database, id: string): Promise<void> {
  await db
    .prepare("DELETE FROM checkout_sessions WHERE id = ?1 AND status = 'pending'")
    .bind(id)
    .run();
}

export async function findTenantCustomer(
  db: D1Database,
  appId: string,
  tenantId: string,
  livemode: boolean,
): Promise<string | null> {
  const row = await db
    .prepare(
      "SELECT stripe_customer_id FROM tenant_customers WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3",
    )
    .bind(appId, tenantId, livemode ? 1 : 0)
    .first<{ stripe_customer_id: string }>();
  return row?.stripe_customer_id ?? null;
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
  return row ? toRecord(row) : null;
}

export async function findCheckoutByHash(
  db: D1Database,
  hash: string,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare("SELECT * FROM checkout_sessions WHERE hash = ?1")
    .bind(hash)
    .first<CheckoutRow>();
  return row ? toRecord(row) : null;
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
 * How a Stripe event finds its checkout: by session id, or, for a row whose Stripe call
 * succeeded but was never recorded, by the hash in the session's metadata. Mode and connected
 * account must agree, so one account's events cannot touch another's checkouts.
 */
export interface EventMatch {
  stripeSessionId: string;
  hash: string;
  livemode: boolean;
  account: string | null;
}

const MATCH_SQL = `(stripe_session_id = ?1 OR (stripe_session_id IS NULL AND hash = ?2))
  AND livemode = ?3 AND COALESCE(stripe_account, '') = ?4`;

function matchParams(m: EventMatch): [string, string, number, string] {
  return [m.stripeSessionId, m.hash, m.livemode ? 1 : 0, m.account ?? ""];
}

export async function findCheckoutForEvent(
  db: D1Database,
  m: EventMatch,
): Promise<CheckoutRecord | null> {
  const row = await db
    .prepare(`SELECT * FROM checkout_sessions WHERE ${MATCH_SQL}`)
    .bind(...matchParams(m))
    .first<CheckoutRow>();
  return row ? toRecord(row) : null;
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
 * Marks a checkout complete. Never moves a record back: an expired one that Stripe reports
 * completed becomes complete (Stripe is the truth), a complete one stays complete, and a final
 * payment status (paid, failed) is not overwritten by an earlier "unpaid".
 */
export function completeCheckoutStatement(
  db: D1Database,
  m: EventMatch,
  c: Completion,
): D1PreparedStatement {
  const paymentStatus = c.final
    ? "?5"
    : "CASE WHEN payment_status IN ('paid', 'failed') THEN payment_status ELSE ?5 END";
  return db
    .prepare(
      `UPDATE checkout_sessions SET
         status = 'complete',
         stripe_session_id = COALESCE(stripe_session_id, ?1),
         payment_status = ${paymentStatus},
         stripe_customer_id = COALESCE(?6, stripe_customer_id),
         stripe_subscription_id = COALESCE(?7, stripe_subscription_id),
         stripe_payment_intent_id = COALESCE(?8, stripe_payment_intent_id),
         stripe_setup_intent_id = COALESCE(?9, stripe_setup_intent_id),
         completed_at = COALESCE(completed_at, ?10),
         updated_at = ?11
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
export function expireCheckoutStatement(
  db: D1Database,
  m: EventMatch,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE checkout_sessions SET status = 'expired', stripe_session_id = COALESCE(stripe_session_id, ?1), updated_at = ?5
       WHERE ${MATCH_SQL} AND status IN ('open', 'pending')`,
    )
    .bind(...matchParams(m), now);
}

/** Remembers the tenant's Stripe customer for its mode (the first one learnt is kept). */
export function rememberTenantCustomerStatement(
  db: D1Database,
  m: EventMatch,
  customerId: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tenant_customers (app_id, tenant_id, livemode, stripe_customer_id, created_at, updated_at)
       SELECT app_id, tenant_id, livemode, ?5, ?6, ?6 FROM checkout_sessions
       WHERE ${MATCH_SQL} AND tenant_id IS NOT NULL
       ON CONFLICT (app_id, tenant_id, livemode) DO NOTHING`,
    )
    .bind(...matchParams(m), customerId, now);
}

/** Open or pending checkouts past their expiry become expired, at most `limit` per call. */
export async function expireOverdueCheckouts(
  db: D1Database,
  now: number,
  limit: number,
): Promise<number> {
  const result = await db
    .prepare(
      `UPDATE checkout_sessions SET status = 'expired', updated_at = ?1
       WHERE id IN (SELECT id FROM checkout_sessions WHERE status IN ('open', 'pending') AND expires_at < ?1 LIMIT ?2)`,
    )
    .bind(now, limit)
    .run();
  return result.meta.changes;
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
