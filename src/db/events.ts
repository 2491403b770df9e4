/** D1 queries over stripe_events: which Stripe events have taken effect. */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";

export interface ProcessedEvent {
  id: string;
  type: string;
  livemode: boolean;
  account: string | null;
  createdAt: number;
  receivedAt: number;
}

export async function hasProcessedEvent(db: D1Database, eventId: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS seen FROM stripe_events WHERE id = ?1")
    .bind(eventId)
    .first();
  return row !== null;
}

/**
 * Records the event and applies its effects in one D1 batch (a transaction): either both take
 * place or neither. A concurrent delivery of the same event fails on the primary key, rolls
 * its batch back, and is reported as a duplicate.
 */
export async function applyEventOnce(
  db: D1Database,
  event: ProcessedEvent,
  effects: D1PreparedStatement[],
): Promise<"applied" | "duplicate"> {
  const record = db
    .prepare(
      "INSERT INTO stripe_events (id, type, livemode, account, created_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(
      event.id,
      event.type,
      event.livemode ? 1 : 0,
      event.account,
      event.createdAt,
      event.receivedAt,
    );
  try {
    await db.batch([record, ...effects]);
    return "applied";
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed: stripe_events\.id/.test(err.message))
      return "duplicate";
    throw err;
  }
}

/** Deletes at most `limit` event ids received before `cutoff`; returns how many went. */
export async function deleteEventsReceivedBefore(
  db: D1Database,
  cutoff: number,
  limit: number,
): Promise<number> {
  const result = await db
    .prepare(
      "DELETE FROM stripe_events WHERE id IN (SELECT id FROM stripe_events WHERE received_at < ?1 LIMIT ?2)",
    )
    .bind(cutoff, limit)
    .run();
  return result.meta.changes;
}
