-- The tenant's billing state after the checkout, as Stripe says it is now: every row is written
-- from an object re-fetched from Stripe, never from an event's copy. `fetched_at_ms` orders the
-- writes: an older read never overwrites a newer one. Times are Unix seconds unless named _ms.

-- Subscriptions created through our checkouts (their metadata names the checkout).
CREATE TABLE subscriptions (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  tenant_id TEXT,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  stripe_account TEXT,
  checkout_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  status TEXT NOT NULL,
  price TEXT,
  quantity INTEGER,
  current_period_start INTEGER,
  current_period_end INTEGER,
  cancel_at_period_end INTEGER NOT NULL CHECK (cancel_at_period_end IN (0, 1)),
  canceled_at INTEGER,
  ended_at INTEGER,
  trial_end INTEGER,
  created_at INTEGER NOT NULL,
  fetched_at_ms INTEGER NOT NULL,
  synced_at INTEGER NOT NULL,
  -- When the reconciliation reads it again; NULL once it cannot change any more (canceled).
  next_sync_at INTEGER
);
CREATE INDEX subscriptions_tenant ON subscriptions (app_id, tenant_id, livemode);
CREATE INDEX subscriptions_next_sync ON subscriptions (next_sync_at) WHERE next_sync_at IS NOT NULL;

-- Invoices of those subscriptions, and of one-time checkouts (invoice_creation).
CREATE TABLE invoices (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  tenant_id TEXT,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  stripe_account TEXT,
  customer_id TEXT,
  subscription_id TEXT,
  checkout_id TEXT,
  status TEXT,
  currency TEXT NOT NULL,
  amount_due INTEGER NOT NULL,
  amount_paid INTEGER NOT NULL,
  amount_remaining INTEGER NOT NULL,
  attempt_count INTEGER NOT NULL,
  hosted_invoice_url TEXT,
  invoice_pdf TEXT,
  period_start INTEGER,
  period_end INTEGER,
  paid_at INTEGER,
  created_at INTEGER NOT NULL,
  fetched_at_ms INTEGER NOT NULL,
  synced_at INTEGER NOT NULL
);
CREATE INDEX invoices_tenant ON invoices (app_id, tenant_id, livemode, created_at);

-- One-time payments refunded (charge.refunded): how much, in which currency. payment_status
-- becomes `refunded` or `partially_refunded`.
ALTER TABLE checkout_sessions ADD COLUMN refunded_amount INTEGER;
ALTER TABLE checkout_sessions ADD COLUMN refund_currency TEXT;
CREATE INDEX checkout_sessions_payment_intent
  ON checkout_sessions (stripe_payment_intent_id) WHERE stripe_payment_intent_id IS NOT NULL;
