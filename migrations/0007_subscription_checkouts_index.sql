-- The no-second-subscription guard also counts a tenant's paid subscription checkout whose
-- subscription Stripe's events have not brought in yet; this finds those per tenant without
-- scanning the checkouts.
CREATE INDEX checkout_sessions_subscribed
  ON checkout_sessions (app_id, tenant_id, livemode, completed_at)
  WHERE mode = 'subscription' AND status = 'complete' AND stripe_subscription_id IS NOT NULL;
