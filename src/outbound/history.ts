import type { D1Database } from "@cloudflare/workers-types";
import type { AppRecord } from "../apps/records.ts";
import {
  findDelivery,
  listAttempts,
  listDeliveries,
  redeliverStatement,
} from "../db/deliveries.ts";
import { findEndpoint, listEndpoints } from "../db/webhook-endpoints.ts";
import { findEvent, listEvents } from "../db/webhook-events.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import type { ListDeliveriesQuery, ListEventsQuery, RedeliverBody } from "../schemas/outbound.ts";
import type { DeliveryView, OutboundEvent } from "../schemas/outbound-views.ts";
import { decodeCursor, deliveryView, encodeCursor, eventView } from "./views.ts";

/**
 * What an app was told, and how each attempt went: its events since a time, the deliveries of
 * an event or to an endpoint with every attempt, and sending an event again.
 */

/** Attempts shown per delivery (a delivery has ten per round). */
const ATTEMPTS_SHOWN = 50;

export async function listAppEvents(
  db: D1Database,
  app: AppRecord,
  query: ListEventsQuery,
): Promise<{ events: OutboundEvent[]; nextCursor: string | null }> {
  const rows = await listEvents(db, {
    appId: app.id,
    livemode: !query.test,
    sinceMs: query.since ? Date.parse(query.since) : 0,
    type: query.type ?? null,
    afterSeq: decodeCursor(query.cursor) ?? 0,
    limit: query.limit,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    events: page.map(eventView),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last.seq) : null,
  };
}

export async function listAppDeliveries(
  db: D1Database,
  app: AppRecord,
  query: ListDeliveriesQuery,
): Promise<{ deliveries: DeliveryView[]; nextCursor: string | null }> {
  const rows = await listDeliveries(db, {
    appId: app.id,
    eventId: query.eventId,
    endpointId: query.endpointId,
    beforeRowid: decodeCursor(query.cursor),
    limit: query.limit,
  });
  const page = rows.slice(0, query.limit);
  const attempts = await listAttempts(
    db,
    page.map((d) => ({ eventId: d.event_id, endpointId: d.endpoint_id })),
    ATTEMPTS_SHOWN,
  );
  const last = page.at(-1);
  return {
    deliveries: page.map((d) => deliveryView(d, attempts)),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last.rowid) : null,
  };
}

/**
 * The event again, to the endpoint named or to every enabled endpoint of its app and mode that
 * takes its type: a new round of attempts, due now, with the same webhook-id and body. Returns
 * the deliveries; the caller hands them to the queue.
 */
export async function redeliverEvent(
  deps: { db: D1Database; now: () => number },
  app: AppRecord,
  eventId: string,
  body: RedeliverBody,
): Promise<{ deliveries: DeliveryView[]; endpointIds: string[] }> {
  const event = await findEvent(deps.db, app.id, eventId);
  if (!event) throw new ApiError("not_found", MESSAGES.webhookEventNotFound);
  const livemode = event.livemode === 1;
  const mode = livemode ? "live" : "test";
  const takes = (types: string[] | null) => types === null || types.includes(event.type);
  let targets: string[];
  if (body.endpointId !== undefined) {
    const endpoint = await findEndpoint(deps.db, app.id, body.endpointId);
    if (!endpoint) throw new ApiError("not_found", MESSAGES.endpointNotFound);
    if (endpoint.livemode !== livemode) {
      throw new ApiError(
        "conflict",
        MESSAGES.endpointNotInMode(endpoint.livemode ? "live" : "test"),
      );
    }
    if (endpoint.status !== "enabled") throw new ApiError("conflict", MESSAGES.endpointDisabled);
    if (!takes(endpoint.eventTypes)) {
      throw new ApiError("conflict", MESSAGES.endpointSkipsType(event.type));
    }
    targets = [endpoint.id];
  } else {
    const endpoints = await listEndpoints(deps.db, app.id, livemode);
    targets = endpoints
      .filter((e) => e.status === "enabled" && takes(e.eventTypes))
      .map((e) => e.id);
    if (targets.length === 0) {
      throw new ApiError("conflict", MESSAGES.noEndpointForEvent(event.type, mode));
    }
  }
  const now = deps.now();
  await deps.db.batch(
    targets.map((endpointId) =>
      redeliverStatement(deps.db, { eventId, endpointId, appId: app.id }, now),
    ),
  );
  const deliveries: DeliveryView[] = [];
  for (const endpointId of targets) {
    const found = await findDelivery(deps.db, eventId, endpointId);
    if (found) deliveries.push(deliveryView(found.delivery, []));
  }
  return { deliveries, endpointIds: targets };
}
