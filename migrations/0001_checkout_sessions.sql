-- One row per checkout, keyed for idempotency by (app, livemode, state digest).
-- A row is written as 'pending' before Stripe is called (it reserves the state and fixes
-- the hash and expiry that the Stripe call carries), then becomes 'open' once Stripe
-- answered with a session. Times are Unix seconds.
CREATE TABLE checkout_sessions (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  app_id TEXT NOT NULL,
  tenant_id TEXT,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  state_digest TEXT NOT NULL,
  request_fingerprint TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'complete', 'expired')),
  payment_status TEXT,
  stripe_session_id TEXT UNIQUE,
  stripe_url TEXT,
  stripe_account TEXT,
  stripe_customer_id TEXT,
  stripe_payment_intent_id TEXT,
  stripe_subscription_id TEXT,
  stripe_setup_intent_id TEXT,
  mode TEXT NOT NULL CHECK (mode IN ('payment', 'subscription', 'setup')),
  price TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  tax_rate TEXT NOT NULL,
  allowed_country TEXT NOT NULL,
  payment_method TEXT NOT NULL,
  billing_address_collection INTEGER NOT NULL CHECK (billing_address_collection IN (0, 1)),
  reverse_charge INTEGER NOT NULL CHECK (reverse_charge IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  opened_at INTEGER,
  completed_at INTEGER
);

CREATE UNIQUE INDEX checkout_sessions_idempotency
  ON checkout_sessions (app_id, livemode, state_digest);
CREATE INDEX checkout_sessions_status_expires
  ON checkout_sessions (status, expires_at);
CREATE INDEX checkout_sessions_created
  ON checkout_sessions (created_at);

-- The Stripe customer of a tenant, per app and mode, learnt from completed checkouts.
CREATE TABLE tenant_customers (
  app_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  stripe_customer_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, tenant_id, livemode)
);
