import { iso, isoOrNull } from "../clock.ts";
import type { AttemptRow, DeliveryRow } from "../db/deliveries.ts";
import type { EndpointRecord } from "../db/webhook-endpoints.ts";
import type { EventRow } from "../db/webhook-events.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import type { DeliveryView, EndpointView, OutboundEvent } from "../schemas/outbound-views.ts";

/**
 * An event as it is POSTed and listed. Made from the stored row alone, so every attempt sends
 * the very same body (the signature covers it; a receiver may compare bodies of one webhook-id).
 */
export function eventView(row: EventRow): OutboundEvent {
  const object = JSON.parse(row.object) as Record<string, unknown>;
  return {
    id: row.id,
    type: row.type,
    createdAt: new Date(row.created_at_ms).toISOString(),
    appId: row.app_id,
    tenantId: row.tenant_id,
    livemode: row.livemode === 1,
    object: { ...object, sequence: row.seq },
  } as OutboundEvent;
}

export function endpointView(e: EndpointRecord, now: number): EndpointView {
  const stillSigning = e.previousSecrets.filter((p) => p.until > now).map((p) => p.until);
  return {
    id: e.id,
    url: e.url,
    livemode: e.livemode,
    description: e.description,
    eventTypes: e.eventTypes as EndpointView["eventTypes"],
    status: e.status,
    disabled:
      e.status === "disabled" && e.disabledReason && e.disabledAt !== null
        ? { reason: e.disabledReason, at: iso(e.disabledAt) }
        : null,
    failingSince: isoOrNull(e.failingSince),
    consecutiveFailures: e.consecutiveFailures,
    lastSuccessAt: isoOrNull(e.lastSuccessAt),
    previousSecretValidUntil: stillSigning.length > 0 ? iso(Math.max(...stillSigning)) : null,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function deliveryView(d: DeliveryRow, attempts: AttemptRow[]): DeliveryView {
  return {
    eventId: d.event_id,
    endpointId: d.endpoint_id,
    status: d.status,
    attemptCount: d.attempts,
    nextAttemptAt: d.status === "pending" ? iso(d.next_attempt_at) : null,
    deliveredAt: isoOrNull(d.delivered_at),
    lastStatusCode: d.last_status_code,
    lastError: d.last_error,
    attempts: attempts
      .filter((a) => a.event_id === d.event_id && a.endpoint_id === d.endpoint_id)
      .map((a) => ({
        attempt: a.attempt,
        at: new Date(a.at_ms).toISOString(),
        statusCode: a.status_code,
        durationMs: a.duration_ms,
        error: a.error,
        responseExcerpt: a.response_excerpt,
      })),
  };
}

/** Cursors are a position (a sequence or row number) in a form the API alone gives out. */
export function encodeCursor(position: number): string {
  return `c${position.toString(36)}`;
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const position = /^c[0-9a-z]{1,11}$/.test(cursor) ? Number.parseInt(cursor.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new ApiError("bad_request", MESSAGES.cursorInvalid);
  }
  return position;
}
