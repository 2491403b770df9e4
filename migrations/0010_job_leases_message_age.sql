-- A job of the cron that calls Stripe (reading overdue sessions, the follow-ups, the
-- reconciliation) is held by one run at a time: a run slower than the schedule, or the operator's
-- `billing reconcile` at the same moment, never does the same work twice. A lease is taken with
-- one conditional upsert (free, or run out), given up when the job ends, and runs out by itself
-- shortly after the holder's time budget if the holder died. Times are Unix seconds.
CREATE TABLE job_leases (
  job TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

-- The sweep sends a new message for a pending delivery whose message is old enough to be
-- deleted by the queue's retention (src/db/deliveries.ts claimForSweep): by the age of its message.
CREATE INDEX webhook_deliveries_message_age
  ON webhook_deliveries (enqueued_at) WHERE status = 'pending';
