/**
 * D1 queries over webhook_deliveries and webhook_attempts: handing deliveries to the queue,
 * the consumer's lease and its record of each attempt, redelivery, and the delivery log.
 */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import type { EventRow } from "./webhook-events.ts";

/** The body of a queue message: which delivery, and which sending of it. */
export interface DeliveryMessage {
  eventId: string;
  endpointId: string;
  generation: number;
}

export type DeliveryStatus = "pending" | "delivered" | "dead" | "canceled";

export interface DeliveryRow {
  event_id: string;
  endpoint_id: string;
  app_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  generation: number;
  enqueued_at: number | null;
  lease_until: number | null;
  delivered_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptRow {
  event_id: string;
  endpoint_id: string;
  attempt: number;
  at_ms: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

const CLAIMED = "RETURNING event_id AS eventId, endpoint_id AS endpointId, generation";

/**
 * The deliveries a batch created (its origin), marked as handed to the queue: each claimed once,
 * so a concurrent claim (the sweep) never sends the same generation twice.
 */
export async function claimUnsentOfOrigin(
  db: D1Database,
  origin: string,
  now: number,
): Promise<DeliveryMessage[]> {
  const { results } = await db
    .prepare(
      `UPDATE webhook_deliveries SET enqueued_at = ?2, generation = generation + 1, updated_at = ?2
       WHERE enqueued_at IS NULL AND status = 'pending'
         AND event_id IN (SELECT id FROM webhook_events WHERE origin = ?1)
       ${CLAIMED}`,
    )
    .bind(origin, now)
    .all<DeliveryMessage>();
  return results;
}

/**
 * The sweep: pending deliveries never handed to the queue (the batch's own hand-over failed),
 * those whose attempt is overdue by `stuckSeconds` with no lease (their message was lost), and
 * those whose message was sent `renewSeconds` ago or more with no lease (the queue may soon
 * drop it: a message retried with a delay keeps its age), at most `limit` of each. A new
 * generation supersedes any message of theirs still around.
 */
export async function claimForSweep(
  db: D1Database,
  now: number,
  ages: { stuckSeconds: number; renewSeconds: number },
  limit: number,
): Promise<DeliveryMessage[]> {
  // One statement each, each on its own partial index (a UNION of them scans the table). Each
  // claims what is still due after the one before it in the batch, so none claims a row twice.
  // ?1 is now, ?2 the limit, ?3 the age that makes a delivery due. (`+enqueued_at` keeps the
  // overdue claim on its index of attempt times: on the index of message ages, which holds every
  // waiting delivery, it read all of them; test/worker/growth.test.ts.)
  const claim = (which: string, age: number) =>
    db
      .prepare(
        `UPDATE webhook_deliveries SET enqueued_at = ?1, generation = generation + 1, updated_at = ?1
         WHERE rowid IN (SELECT rowid FROM webhook_deliveries WHERE ${which} LIMIT ?2)
         ${CLAIMED}`,
      )
      .bind(now, limit, age);
  const claimed = await db.batch<DeliveryMessage>([
    claim("status = 'pending' AND enqueued_at IS NULL AND updated_at <= ?1 - ?3", 60),
    claim(
      "status = 'pending' AND next_attempt_at <= ?1 - ?3 AND COALESCE(lease_until, 0) < ?1 AND +enqueued_at < ?1",
      ages.stuckSeconds,
    ),
    claim(
      "status = 'pending' AND enqueued_at <= ?1 - ?3 AND COALESCE(lease_until, 0) < ?1",
      ages.renewSeconds,
    ),
  ]);
  return claimed.flatMap((r) => r.results ?? []);
}

/** An event's deliveries to these endpoints, if not handed to the queue yet (a redelivery). */
export async function claimUnsentOfEvent(
  db: D1Database,
  eventId: string,
  endpointIds: string[],
  now: number,
): Promise<DeliveryMessage[]> {
  const { results } = await db
    .prepare(
      `UPDATE webhook_deliveries SET enqueued_at = ?3, generation = generation + 1, updated_at = ?3
       WHERE enqueued_at IS NULL AND status = 'pending' AND event_id = ?1
         AND endpoint_id IN (SELECT value FROM json_each(?2))
       ${CLAIMED}`,
    )
    .bind(eventId, JSON.stringify(endpointIds), now)
    .all<DeliveryMessage>();
  return results;
}

/** Claims whose message could not be sent: unclaimed, so the sweep sends them. */
export async function unclaim(db: D1Database, messages: DeliveryMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await db.batch(
    messages.map((m) =>
      db
        .prepare(
          "UPDATE webhook_deliveries SET enqueued_at = NULL WHERE event_id = ?1 AND endpoint_id = ?2 AND generation = ?3",
        )
        .bind(m.eventId, m.endpointId, m.generation),
    ),
  );
}

export interface DeliveryContext {
  delivery: DeliveryRow;
  event: EventRow;
}

export async function findDelivery(
  db: D1Database,
  eventId: string,
  endpointId: string,
): Promise<DeliveryContext | null> {
  const [delivery, event] = await db.batch<DeliveryRow | EventRow>([
    db
      .prepare("SELECT * FROM webhook_deliveries WHERE event_id = ?1 AND endpoint_id = ?2")
      .bind(eventId, endpointId),
    db.prepare("SELECT * FROM webhook_events WHERE id = ?1").bind(eventId),
  ]);
  const d = delivery?.results[0] as DeliveryRow | undefined;
  const e = event?.results[0] as EventRow | undefined;
  return d && e ? { delivery: d, event: e } : null;
}

/**
 * The consumer's right to attempt this delivery now: due, pending, this generation, and no
 * other consumer attempting it. False if any of that does not hold.
 */
export async function takeLease(
  db: D1Database,
  m: DeliveryMessage,
  now: number,
  until: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE webhook_deliveries SET lease_until = ?5
       WHERE event_id = ?1 AND endpoint_id = ?2 AND generation = ?3 AND status = 'pending'
         AND next_attempt_at <= ?4 AND COALESCE(lease_until, 0) < ?4`,
    )
    .bind(m.eventId, m.endpointId, m.generation, now, until)
    .run();
  return result.meta.changes === 1;
}

export interface AttemptOutcome {
  atMs: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

/**
 * When an endpoint counts as failing for long enough to be disabled: after `disableAfterSeconds`
 * of failed attempts with no success between them and no gap between two of them longer than
 * `idleAfterSeconds` (a longer gap means it had nothing to send, not that it kept failing).
 */
export interface FailingRule {
  disableAfterSeconds: number;
  idleAfterSeconds: number;
}

/**
 * One attempt, recorded with what it does to the delivery (delivered, a next attempt, dead) and
 * to the endpoint (its failures, and disabled once it has been failing as `rule` says): one
 * batch. The delivery changes only if it is still the attempt's round (its generation): a
 * redelivery during the attempt started a new one, which the attempt's outcome must not end or
 * postpone; the attempt is logged either way, and its lease given up.
 */
export function recordAttemptStatements(
  db: D1Database,
  key: DeliveryMessage & { leaseUntil: number },
  attempt: AttemptOutcome,
  next: { status: DeliveryStatus; nextAttemptAt: number },
  now: number,
  rule: FailingRule,
): D1PreparedStatement[] {
  const delivered = next.status === "delivered";
  // Failing since: this failure, if none came before it since the last success, or only after
  // a gap that means idle (an endpoint whose attempts are gone counts from failing_since).
  const since = `CASE WHEN failing_since IS NULL
      OR ?2 - COALESCE(last_failure_at, failing_since) > ?4 THEN ?2 ELSE failing_since END`;
  const endpoint = delivered
    ? db
        .prepare(
          "UPDATE webhook_endpoints SET failing_since = NULL, consecutive_failures = 0, last_success_at = ?2 WHERE id = ?1",
        )
        .bind(key.endpointId, now)
    : db
        .prepare(
          `UPDATE webhook_endpoints SET
             consecutive_failures = consecutive_failures + 1,
             failing_since = ${since},
             last_failure_at = max(COALESCE(last_failure_at, 0), ?2),
             status = iif(status = 'enabled' AND ?2 - ${since} >= ?3, 'disabled', status),
             disabled_reason = iif(status = 'enabled' AND ?2 - ${since} >= ?3, 'failing', disabled_reason),
             disabled_at = iif(status = 'enabled' AND ?2 - ${since} >= ?3, ?2, disabled_at)
           WHERE id = ?1`,
        )
        .bind(key.endpointId, now, rule.disableAfterSeconds, rule.idleAfterSeconds);
  return [
    db
      .prepare(
        `INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, at_ms, status_code, duration_ms, error, response_excerpt)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM webhook_attempts WHERE event_id = ?1 AND endpoint_id = ?2),
           ?3, ?4, ?5, ?6, ?7)`,
      )
      .bind(
        key.eventId,
        key.endpointId,
        attempt.atMs,
        attempt.statusCode,
        attempt.durationMs,
        attempt.error,
        attempt.responseExcerpt,
      ),
    db
      .prepare(
        `UPDATE webhook_deliveries SET status = ?3, attempts = attempts + 1, next_attempt_at = ?4,
           lease_until = NULL, delivered_at = iif(?3 = 'delivered', ?5, delivered_at),
           last_status_code = ?6, last_error = ?7, updated_at = ?5
         WHERE event_id = ?1 AND endpoint_id = ?2 AND generation = ?8`,
      )
      .bind(
        key.eventId,
        key.endpointId,
        next.status,
        next.nextAttemptAt,
        now,
        attempt.statusCode,
        attempt.error,
        key.generation,
      ),
    db
      .prepare(
        `UPDATE webhook_deliveries SET lease_until = NULL
         WHERE event_id = ?1 AND endpoint_id = ?2 AND generation <> ?3 AND lease_until = ?4`,
      )
      .bind(key.eventId, key.endpointId, key.generation, key.leaseUntil),
    endpoint,
  ];
}

/**
 * A pending delivery ends without an attempt: canceled (its endpoint is disabled or gone). Only
 * the message's own round: a newer one (the sweep's, a redelivery's) goes on.
 */
export async function endDelivery(
  db: D1Database,
  key: DeliveryMessage,
  status: "canceled",
  error: string,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE webhook_deliveries SET status = ?3, last_error = ?4, lease_until = NULL, updated_at = ?5
       WHERE event_id = ?1 AND endpoint_id = ?2 AND generation = ?6 AND status = 'pending'`,
    )
    .bind(key.eventId, key.endpointId, status, error, now, key.generation)
    .run();
}

/**
 * A delivery whose message Queues gave up on (the service, not the receiver, kept failing): back
 * to the sweep, which sends it in a new round of messages, saying why meanwhile. Only the
 * message's own round.
 */
export async function handBackToSweep(
  db: D1Database,
  key: DeliveryMessage,
  error: string,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE webhook_deliveries SET enqueued_at = NULL, lease_until = NULL, last_error = ?4, updated_at = ?5
       WHERE event_id = ?1 AND endpoint_id = ?2 AND generation = ?3 AND status = 'pending'`,
    )
    .bind(key.eventId, key.endpointId, key.generation, error, now)
    .run();
}

/** The pending deliveries to an endpoint, canceled (it was disabled). */
export function cancelPendingStatement(
  db: D1Database,
  endpointId: string,
  error: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE webhook_deliveries SET status = 'canceled', last_error = ?2, updated_at = ?3
       WHERE endpoint_id = ?1 AND status = 'pending'`,
    )
    .bind(endpointId, error, now);
}

/**
 * Sends an event to an endpoint again: a new delivery, or a new round of the existing one (due
 * now, its attempts counted from zero and the last round's outcome cleared; the attempt log
 * keeps it). The new generation supersedes the old round's messages and the outcome of an
 * attempt still running; its lease is left to that attempt, which gives it up when it ends.
 */
export function redeliverStatement(
  db: D1Database,
  key: { eventId: string; endpointId: string; appId: string },
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, app_id, status, next_attempt_at, created_at, updated_at)
       VALUES (?1, ?2, ?3, 'pending', ?4, ?4, ?4)
       ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', attempts = 0,
         generation = generation + 1,
         next_attempt_at = ?4, enqueued_at = NULL, delivered_at = NULL, last_status_code = NULL,
         last_error = NULL, updated_at = ?4`,
    )
    .bind(key.eventId, key.endpointId, key.appId, now);
}

/** Of one app: the deliveries of an event, or to an endpoint, newest first, after the cursor. */
export async function listDeliveries(
  db: D1Database,
  q: {
    appId: string;
    eventId?: string;
    endpointId?: string;
    beforeRowid: number | null;
    limit: number;
  },
): Promise<(DeliveryRow & { rowid: number })[]> {
  const by = q.eventId !== undefined ? "event_id = ?2" : "endpoint_id = ?2";
  const { results } = await db
    .prepare(
      `SELECT rowid, * FROM webhook_deliveries
       WHERE app_id = ?1 AND ${by} AND (?3 IS NULL OR rowid < ?3)
       ORDER BY rowid DESC LIMIT ?4`,
    )
    .bind(q.appId, q.eventId ?? q.endpointId, q.beforeRowid, q.limit + 1)
    .all<DeliveryRow & { rowid: number }>();
  return results;
}

/** The attempts of these deliveries, newest first, at most `perDelivery` each. */
export async function listAttempts(
  db: D1Database,
  keys: { eventId: string; endpointId: string }[],
  perDelivery: number,
): Promise<AttemptRow[]> {
  if (keys.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT * FROM (
         SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.event_id, a.endpoint_id ORDER BY a.attempt DESC) AS n
         FROM json_each(?1) k JOIN webhook_attempts a
           ON a.event_id = json_extract(k.value, '$[0]') AND a.endpoint_id = json_extract(k.value, '$[1]'))
       WHERE n <= ?2 ORDER BY attempt DESC`,
    )
    .bind(JSON.stringify(keys.map((k) => [k.eventId, k.endpointId])), perDelivery)
    .all<AttemptRow>();
  return results;
}
