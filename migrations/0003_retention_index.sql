-- The retention cron deletes finished checkouts (status 'complete' or 'expired') created before
-- a cutoff. With an index on created_at alone, SQLite searched by status through
-- checkout_sessions_status_expires instead and read every finished row to find the old ones:
-- 10,009 rows read to delete none, with 20,000 rows in the table (test/worker/growth.test.ts).
-- On (status, created_at) it reads only the rows it deletes.
CREATE INDEX checkout_sessions_status_created
  ON checkout_sessions (status, created_at);
DROP INDEX checkout_sessions_created;
