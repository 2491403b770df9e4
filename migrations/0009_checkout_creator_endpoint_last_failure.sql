-- Issue 19, B10b: when an endpoint last failed. "Failing for 5 days" means failures without a
-- success and without a gap longer than the retry schedule's longest wait: a longer gap means
-- the endpoint had nothing to send (idle), and its failing time starts again at its next
-- failure. Unix seconds; NULL until it fails.
ALTER TABLE webhook_endpoints ADD COLUMN last_failure_at INTEGER;

-- The endpoints failing now: their latest failed attempt from the attempt log (one scan). One
-- whose attempts are gone is read as failing since failing_since (src/db/deliveries.ts).
UPDATE webhook_endpoints SET last_failure_at = failed.at
FROM (
  SELECT endpoint_id, MAX(at_ms) / 1000 AS at FROM webhook_attempts
  WHERE error IS NOT NULL GROUP BY endpoint_id
) AS failed
WHERE failed.endpoint_id = webhook_endpoints.id AND webhook_endpoints.failing_since IS NOT NULL;

-- Issue 19, B10a: who created a checkout, for the read route: the subject (`sub`) of the access
-- token that created it; NULL for an API key (and a token without a subject). A token without a
-- tenant reads only the tenant-less checkouts created by its own subject. Checkouts created
-- before are NULL: only API keys read them (and tokens of their tenant, as before).
ALTER TABLE checkout_sessions ADD COLUMN created_by TEXT;
