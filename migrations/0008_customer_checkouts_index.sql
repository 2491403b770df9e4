-- A customer's tax treatment at Stripe follows the tenant's paid checkouts (issue 19, B5): the
-- completion asks whether the customer had a reverse-charge checkout, and the follow-up which
-- checkout of the customer was paid last. Both find a customer's checkouts here.
CREATE INDEX checkout_sessions_customer_completed
  ON checkout_sessions (stripe_customer_id, completed_at) WHERE stripe_customer_id IS NOT NULL;
