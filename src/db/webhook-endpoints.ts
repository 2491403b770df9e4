/** D1 queries over webhook_endpoints: an app's endpoints, per mode. */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";

/** A replaced signing secret (still encrypted) and until when it signs too. */
interface PreviousSecret {
  secret: string;
  until: number;
}

export interface EndpointRecord {
  id: string;
  appId: string;
  livemode: boolean;
  url: string;
  description: string | null;
  eventTypes: string[] | null;
  status: "enabled" | "disabled";
  disabledReason: "app" | "failing" | null;
  disabledAt: number | null;
  /** Encrypted (src/outbound/secrets.ts). */
  secret: string;
  previousSecrets: PreviousSecret[];
  failingSince: number | null;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  createdAt: number;
  updatedAt: number;
}

interface EndpointRow {
  id: string;
  app_id: string;
  livemode: number;
  url: string;
  description: string | null;
  event_types: string | null;
  status: "enabled" | "disabled";
  disabled_reason: "app" | "failing" | null;
  disabled_at: number | null;
  secret: string;
  previous_secrets: string;
  failing_since: number | null;
  consecutive_failures: number;
  last_success_at: number | null;
  created_at: number;
  updated_at: number;
}

function toEndpointRecord(r: EndpointRow): EndpointRecord {
  return {
    id: r.id,
    appId: r.app_id,
    livemode: r.livemode === 1,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types === null ? null : (JSON.parse(r.event_types) as string[]),
    status: r.status,
    disabledReason: r.disabled_reason,
    disabledAt: r.disabled_at,
    secret: r.secret,
    previousSecrets: JSON.parse(r.previous_secrets) as PreviousSecret[],
    failingSince: r.failing_since,
    consecutiveFailures: r.consecutive_failures,
    lastSuccessAt: r.last_success_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The columns an endpoint's write sets, in the order of `endpointValues`. */
const COLUMNS = `id, app_id, livemode, url, description, event_types, status, disabled_reason,
  disabled_at, secret, previous_secrets, failing_since, consecutive_failures, last_success_at,
  created_at, updated_at`;

function endpointValues(e: EndpointRecord): unknown[] {
  return [
    e.id,
    e.appId,
    e.livemode ? 1 : 0,
    e.url,
    e.description,
    e.eventTypes === null ? null : JSON.stringify(e.eventTypes),
    e.status,
    e.disabledReason,
    e.disabledAt,
    e.secret,
    JSON.stringify(e.previousSecrets),
    e.failingSince,
    e.consecutiveFailures,
    e.lastSuccessAt,
    e.createdAt,
    e.updatedAt,
  ];
}

/**
 * A new endpoint, unless the app has `max` in that mode already (checked in the same
 * statement, so two concurrent creates cannot both pass). Returns whether it was written.
 */
export async function insertEndpoint(
  db: D1Database,
  e: EndpointRecord,
  max: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO webhook_endpoints (${COLUMNS})
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
       WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE app_id = ?2 AND livemode = ?3) < ?17`,
    )
    .bind(...endpointValues(e), max)
    .run();
  return result.meta.changes === 1;
}

export async function findEndpoint(
  db: D1Database,
  appId: string,
  id: string,
): Promise<EndpointRecord | null> {
  const row = await db
    .prepare("SELECT * FROM webhook_endpoints WHERE id = ?1 AND app_id = ?2")
    .bind(id, appId)
    .first<EndpointRow>();
  return row ? toEndpointRecord(row) : null;
}

export async function listEndpoints(
  db: D1Database,
  appId: string,
  livemode: boolean,
): Promise<EndpointRecord[]> {
  const { results } = await db
    .prepare(
      "SELECT * FROM webhook_endpoints WHERE app_id = ?1 AND livemode = ?2 ORDER BY created_at, id",
    )
    .bind(appId, livemode ? 1 : 0)
    .all<EndpointRow>();
  return results.map(toEndpointRecord);
}

/** What an update of an endpoint changes; what it leaves out keeps whatever is stored. */
export interface EndpointPatch {
  url?: string;
  description?: string | null;
  eventTypes?: string[] | null;
  /** Disabled by the app, or enabled again (its failures forgotten). */
  status?: "enabled" | "disabled";
}

/**
 * Writes only the columns the update changes, so a change committed since it read the row (a
 * rotated secret, the consumer disabling a failing endpoint) is kept.
 */
export function patchEndpointStatement(
  db: D1Database,
  key: { id: string; appId: string; livemode: boolean },
  patch: EndpointPatch,
  now: number,
): D1PreparedStatement {
  const values: unknown[] = [key.id, key.appId, key.livemode ? 1 : 0, now];
  const sets: string[] = [];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = ?${values.length}`);
  };
  if (patch.url !== undefined) set("url", patch.url);
  if (patch.description !== undefined) set("description", patch.description);
  if (patch.eventTypes !== undefined) {
    set("event_types", patch.eventTypes === null ? null : JSON.stringify(patch.eventTypes));
  }
  if (patch.status === "disabled") {
    sets.push("status = 'disabled'", "disabled_reason = 'app'", "disabled_at = ?4");
  } else if (patch.status === "enabled") {
    sets.push(
      "status = 'enabled'",
      "disabled_reason = NULL",
      "disabled_at = NULL",
      "failing_since = NULL",
      "consecutive_failures = 0",
    );
  }
  sets.push("updated_at = ?4");
  return db
    .prepare(
      `UPDATE webhook_endpoints SET ${sets.join(", ")} WHERE id = ?1 AND app_id = ?2 AND livemode = ?3`,
    )
    .bind(...values);
}

/**
 * A new secret in place of `replaced`, only if that is still the stored one: of two rotations
 * at once one changes nothing (its secret, shown to nobody, must not replace the other's).
 */
export function rotateSecretStatement(
  db: D1Database,
  key: { id: string; appId: string; livemode: boolean },
  rotation: {
    secret: string;
    previousSecrets: EndpointRecord["previousSecrets"];
    replaced: string;
  },
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE webhook_endpoints SET secret = ?4, previous_secrets = ?5, updated_at = ?6
       WHERE id = ?1 AND app_id = ?2 AND livemode = ?3 AND secret = ?7`,
    )
    .bind(
      key.id,
      key.appId,
      key.livemode ? 1 : 0,
      rotation.secret,
      JSON.stringify(rotation.previousSecrets),
      now,
      rotation.replaced,
    );
}

/** An endpoint, and its deliveries and their attempts (history of an endpoint that is gone). */
export function deleteEndpointStatements(
  db: D1Database,
  appId: string,
  id: string,
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `DELETE FROM webhook_attempts WHERE (event_id, endpoint_id) IN (
           SELECT event_id, endpoint_id FROM webhook_deliveries WHERE endpoint_id = ?1)
         AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1 AND app_id = ?2)`,
      )
      .bind(id, appId),
    db
      .prepare(
        "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1 AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1 AND app_id = ?2)",
      )
      .bind(id, appId),
    db.prepare("DELETE FROM webhook_endpoints WHERE id = ?1 AND app_id = ?2").bind(id, appId),
  ];
}

/** The endpoint a delivery goes to, whatever its app (the consumer has only the ids). */
export async function findEndpointById(db: D1Database, id: string): Promise<EndpointRecord | null> {
  const row = await db
    .prepare("SELECT * FROM webhook_endpoints WHERE id = ?1")
    .bind(id)
    .first<EndpointRow>();
  return row ? toEndpointRecord(row) : null;
}
