-- Two tabs must not buy two subscriptions (issue 19, B2): a tenant's newer subscription checkout
-- (or a completed one) supersedes its earlier open ones of the app and mode. `superseded_at`
-- marks them at once (their payment page says so, and never leads to Stripe again); Stripe is
-- then asked to expire them, after the answer, and the cron asks again until it has.
ALTER TABLE checkout_sessions ADD COLUMN superseded_at INTEGER;
CREATE INDEX checkout_sessions_open_subscriptions
  ON checkout_sessions (app_id, tenant_id, livemode) WHERE mode = 'subscription' AND status = 'open';
CREATE INDEX checkout_sessions_superseded
  ON checkout_sessions (superseded_at) WHERE superseded_at IS NOT NULL AND status = 'open';
