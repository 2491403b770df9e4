-- Stripe event ids already applied: a replayed event finds its id here and changes nothing.
-- Times are Unix seconds; rows older than the event retention are deleted by the cron.
CREATE TABLE stripe_events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  account TEXT,
  created_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);

CREATE INDEX stripe_events_received ON stripe_events (received_at);
