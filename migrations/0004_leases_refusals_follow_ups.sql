-- The request that reserved or took over a pending checkout holds a lease on it while it talks
-- to Stripe: others with the same state wait for it, and take over once it is released (the
-- attempt gave up) or has run out (the attempt is presumed gone). `lease_owner` is random per
-- attempt, so a late attempt can never release or extend a lease that another one took over.
ALTER TABLE checkout_sessions ADD COLUMN lease_owner TEXT;
ALTER TABLE checkout_sessions ADD COLUMN lease_expires_at INTEGER NOT NULL DEFAULT 0;

-- A reverse-charge checkout's customer is marked tax-exempt `reverse` at Stripe after its
-- completion is recorded, never before: the follow-up's state, shown on the record.
ALTER TABLE checkout_sessions ADD COLUMN tax_exempt_status TEXT
  CHECK (tax_exempt_status IN ('pending', 'applied', 'failed'));
ALTER TABLE checkout_sessions ADD COLUMN tax_exempt_error TEXT;
ALTER TABLE checkout_sessions ADD COLUMN tax_exempt_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checkout_sessions ADD COLUMN tax_exempt_next_at INTEGER;
CREATE INDEX checkout_sessions_tax_exempt_due
  ON checkout_sessions (tax_exempt_next_at) WHERE tax_exempt_status = 'pending';

-- Stripe's refusal of one reservation (by its hash), kept briefly so that concurrent duplicates
-- that waited for it answer with the same refusal instead of calling Stripe again.
CREATE TABLE checkout_refusals (
  hash TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX checkout_refusals_created ON checkout_refusals (created_at);

-- Tenant ids are compared in one form, lower case (a UUID in capitals is the same tenant).
-- Where both forms had a customer, the lower-case row is kept.
UPDATE checkout_sessions SET tenant_id = lower(tenant_id) WHERE tenant_id <> lower(tenant_id);
UPDATE OR IGNORE tenant_customers SET tenant_id = lower(tenant_id)
  WHERE tenant_id <> lower(tenant_id);
DELETE FROM tenant_customers WHERE tenant_id <> lower(tenant_id);
