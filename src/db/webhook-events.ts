/** D1 queries over webhook_events (the outbox): reading events back, and their retention. */
import type { D1Database } from "@cloudflare/workers-types";

export interface EventRow {
  seq: number;
  id: string;
  app_id: string;
  tenant_id: string | null;
  livemode: number;
  type: string;
  object_kind: string;
  object_id: string;
  object: string;
  created_at_ms: number;
}

export async function findEvent(
  db: D1Database,
  appId: string,
  id: string,
): Promise<EventRow | null> {
  return db
    .prepare("SELECT * FROM webhook_events WHERE id = ?1 AND app_id = ?2")
    .bind(id, appId)
    .first<EventRow>();
}

/**
 * An app's events of one mode in the order they were committed, from `sinceMs` on, after the
 * sequence `afterSeq` (the cursor), optionally of one type; one more than `limit`, so the
 * caller knows whether there is a next page. The walk starts at the first event created five
 * minutes before `sinceMs` (an event is committed within seconds of its time, so none created
 * since then has a lower sequence), not at the app's first event.
 */
export async function listEvents(
  db: D1Database,
  q: {
    appId: string;
    livemode: boolean;
    sinceMs: number;
    type: string | null;
    afterSeq: number;
    limit: number;
  },
): Promise<EventRow[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM webhook_events
       WHERE app_id = ?1 AND livemode = ?2 AND seq > ?3 AND created_at_ms >= ?4
         AND seq >= COALESCE((SELECT seq FROM webhook_events WHERE created_at_ms >= ?4 - 300000
                              ORDER BY created_at_ms LIMIT 1), 0)
         AND (?5 IS NULL OR type = ?5)
       ORDER BY seq LIMIT ?6`,
    )
    .bind(q.appId, q.livemode ? 1 : 0, q.afterSeq, q.sinceMs, q.type, q.limit + 1)
    .all<EventRow>();
  return results;
}

/**
 * Deletes at most `limit` events created before `cutoffMs`, with their deliveries and attempts
 * (one batch: the three statements select the same events). Returns how many events went.
 */
export async function deleteEventsBefore(
  db: D1Database,
  cutoffMs: number,
  limit: number,
): Promise<number> {
  const old =
    "SELECT id FROM webhook_events WHERE created_at_ms < ?1 ORDER BY created_at_ms LIMIT ?2";
  const results = await db.batch([
    db.prepare(`DELETE FROM webhook_attempts WHERE event_id IN (${old})`).bind(cutoffMs, limit),
    db.prepare(`DELETE FROM webhook_deliveries WHERE event_id IN (${old})`).bind(cutoffMs, limit),
    db.prepare(`DELETE FROM webhook_events WHERE id IN (${old})`).bind(cutoffMs, limit),
  ]);
  return results[2]?.meta.changes ?? 0;
}
