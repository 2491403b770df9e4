-- A completed subscription checkout supersedes the tenant's other subscription checkouts that
-- are open *or still being created at Stripe* (pending): one created while the other tab's
-- completion came in must not stay payable (issue 19, B2, found in review). The index of 0012
-- covered open ones only.
DROP INDEX checkout_sessions_open_subscriptions;
CREATE INDEX checkout_sessions_unfinished_subscriptions
  ON checkout_sessions (app_id, tenant_id, livemode)
  WHERE mode = 'subscription' AND status IN ('open', 'pending');
