-- Subscriptions as the pinned API version makes them (issue 19): in flexible billing mode, the
-- default for new subscriptions, a cancellation at the period's end sets only Stripe's
-- `cancel_at`; the mode is kept so the billing state can say which rules apply.
ALTER TABLE subscriptions ADD COLUMN cancel_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN billing_mode TEXT;

-- A one-time payment's refunds are what Stripe says now (a refund can fail later and give the
-- amount back): the time of the read that wrote them orders the writes, as for the billing rows.
ALTER TABLE checkout_sessions ADD COLUMN refund_fetched_at_ms INTEGER;
