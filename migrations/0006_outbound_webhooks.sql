-- Telling the app: its webhook endpoints, the events (an outbox written in the same D1 batch as
-- the change that causes each), one delivery per event and endpoint, and every attempt made.
-- Times are Unix seconds unless named _ms.

-- An app's endpoints, per mode. The signing secrets are stored encrypted (AES-GCM with the
-- worker secret WEBHOOK_ENCRYPTION_KEY), never in clear; replaced secrets stay valid until
-- their `until` (a JSON list of { secret, until }).
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  url TEXT NOT NULL,
  description TEXT,
  -- A JSON list of event types, or NULL for all of them.
  event_types TEXT,
  status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
  disabled_reason TEXT CHECK (disabled_reason IN ('app', 'failing')),
  disabled_at INTEGER,
  secret TEXT NOT NULL,
  previous_secrets TEXT NOT NULL DEFAULT '[]',
  -- Since when every attempt has failed (NULL after a success); 5 days of it disables.
  failing_since INTEGER,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id, livemode);

-- The outbox. `seq` orders events as they were committed (the receiver's sequence); `object`
-- is the changed object as it was right after the change; `origin` names the batch that wrote
-- the event, so the batch can fan it out and hand it to the queue after it committed.
CREATE TABLE webhook_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  app_id TEXT NOT NULL,
  tenant_id TEXT,
  livemode INTEGER NOT NULL CHECK (livemode IN (0, 1)),
  type TEXT NOT NULL,
  object_kind TEXT NOT NULL CHECK (object_kind IN ('checkout', 'subscription', 'invoice')),
  object_id TEXT NOT NULL,
  object TEXT NOT NULL,
  origin TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX webhook_events_app ON webhook_events (app_id, livemode, seq);
CREATE INDEX webhook_events_origin ON webhook_events (origin);
CREATE INDEX webhook_events_created ON webhook_events (created_at_ms);

-- One per event and endpoint. `generation` grows each time a message is sent for it, so a
-- message that was superseded (the sweep or a redelivery sent a newer one) is recognised and
-- dropped; `lease_until` keeps two consumers from attempting it at once. `attempts` counts the
-- attempts of the current round (a redelivery starts a new round).
CREATE TABLE webhook_deliveries (
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'canceled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  generation INTEGER NOT NULL DEFAULT 0,
  enqueued_at INTEGER,
  lease_until INTEGER,
  delivered_at INTEGER,
  last_status_code INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (event_id, endpoint_id)
);
-- By endpoint, newest first: the index's entries are in row order per endpoint.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id);
CREATE INDEX webhook_deliveries_unsent ON webhook_deliveries (updated_at) WHERE enqueued_at IS NULL;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Every attempt: when, the answer's status (NULL when there was none), how long, what failed,
-- and at most 256 characters of the answer's body.
CREATE TABLE webhook_attempts (
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  status_code INTEGER,
  duration_ms INTEGER NOT NULL,
  error TEXT,
  response_excerpt TEXT,
  PRIMARY KEY (event_id, endpoint_id, attempt)
);
