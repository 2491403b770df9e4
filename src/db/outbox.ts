/**
 * The outbox (webhook_events) and its fan-out to the endpoints (webhook_deliveries). Events are
 * written by statements that join the batch making the change: each is an INSERT … SELECT from
 * the changed row under the condition that makes it an event, so it exists exactly when the
 * change does. `finish()` closes the batch: it fills each event's object from its row as the
 * batch left it, and creates one delivery per enabled endpoint that takes the event's type.
 */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import type { OutboundEventType } from "../schemas/outbound.ts";
import { duplicateOfSql } from "./billing.ts";

/** A time in D1's seconds as the API writes times: ISO 8601, UTC, milliseconds. */
const iso = (column: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${column}, 'unixepoch')`;
const isoMs = (column: string) => iso(`${column} / 1000.0`);
const bool = (column: string) => `json(iif(${column} = 1, 'true', 'false'))`;

/** Each object kind's JSON, from its row (aliased `o`) as the batch left it. */
const OBJECT_JSON = {
  checkout: `json_object('kind', 'checkout', 'id', o.stripe_session_id, 'hash', o.hash,
    'status', o.status, 'paymentStatus', o.payment_status, 'mode', o.mode,
    'customerId', o.stripe_customer_id, 'subscriptionId', o.stripe_subscription_id,
    'paymentIntentId', o.stripe_payment_intent_id,
    'refund', iif(o.refunded_amount IS NULL, NULL,
      json_object('amount', o.refunded_amount, 'currency', o.refund_currency)),
    'createdAt', ${iso("o.created_at")}, 'expiresAt', ${iso("o.expires_at")},
    'completedAt', ${iso("o.completed_at")}, 'updatedAt', ${iso("o.updated_at")})`,
  subscription: `json_object('kind', 'subscription', 'id', o.id, 'status', o.status,
    'customerId', o.customer_id, 'price', o.price, 'quantity', o.quantity,
    'currentPeriodStart', ${iso("o.current_period_start")},
    'currentPeriodEnd', ${iso("o.current_period_end")},
    'cancelAtPeriodEnd', ${bool("o.cancel_at_period_end")},
    'cancelAt', ${iso("o.cancel_at")}, 'billingMode', COALESCE(o.billing_mode, 'classic'),
    'canceledAt', ${iso("o.canceled_at")}, 'endedAt', ${iso("o.ended_at")},
    'trialEnd', ${iso("o.trial_end")}, 'duplicateOf', ${duplicateOfSql("o")},
    'updatedAt', ${isoMs("o.fetched_at_ms")})`,
  invoice: `json_object('kind', 'invoice', 'id', o.id, 'status', o.status,
    'subscriptionId', o.subscription_id, 'customerId', o.customer_id, 'currency', o.currency,
    'amountDue', o.amount_due, 'amountPaid', o.amount_paid, 'amountRemaining', o.amount_remaining,
    'attemptCount', o.attempt_count, 'hostedInvoiceUrl', o.hosted_invoice_url,
    'invoicePdf', o.invoice_pdf, 'periodStart', ${iso("o.period_start")},
    'periodEnd', ${iso("o.period_end")}, 'paidAt', ${iso("o.paid_at")},
    'createdAt', ${iso("o.created_at")}, 'updatedAt', ${isoMs("o.fetched_at_ms")})`,
} as const;

export type ObjectKind = keyof typeof OBJECT_JSON;

const TABLE: Record<ObjectKind, string> = {
  checkout: "checkout_sessions",
  subscription: "subscriptions",
  invoice: "invoices",
};

/** An event id: 128 random bits, made by D1 so that a set of rows can have one each. */
const NEW_EVENT_ID = "'evt_' || lower(hex(randomblob(16)))";

/**
 * The events of one D1 batch. Add the statements it returns to the batch before the change they
 * tell of (each decides against the row as it is then), and `finish()` last.
 */
export class OutboxBatch {
  /** Names this batch's events, for the fan-out and for handing them to the queue after commit. */
  readonly origin = crypto.randomUUID();
  private readonly kinds = new Set<ObjectKind>();
  private readonly db: D1Database;
  private readonly atMs: number;

  constructor(db: D1Database, atMs: number) {
    this.db = db;
    this.atMs = atMs;
  }

  /**
   * An event for each checkout row that `where` selects (with its own parameters ?1…?n), as
   * the row is when the statement runs: placed before the change, `where` holds the condition
   * that the change is one (the row's state before it).
   */
  checkoutEvents(type: OutboundEventType, where: string, params: unknown[]): D1PreparedStatement {
    this.kinds.add("checkout");
    const n = params.length;
    return this.db
      .prepare(
        `INSERT INTO webhook_events (id, app_id, tenant_id, livemode, type, object_kind, object_id, object, origin, created_at_ms)
         SELECT ${NEW_EVENT_ID}, app_id, tenant_id, livemode, ?${n + 1}, 'checkout', id, '{}', ?${n + 2}, ?${n + 3}
         FROM checkout_sessions WHERE ${where}`,
      )
      .bind(...params, type, this.origin, this.atMs);
  }

  /**
   * The events that `select` names, one per row it gives with a type that is not NULL. `select`
   * (with its own parameters ?1…?n) gives `type, app_id, tenant_id, livemode, object_id` and
   * decides in SQL against the rows as the batch finds them, so any interleaving of batches
   * writes one event per change (src/db/billing-events.ts).
   */
  selectedEvents(kind: ObjectKind, select: string, params: unknown[]): D1PreparedStatement {
    this.kinds.add(kind);
    const n = params.length;
    return this.db
      .prepare(
        `INSERT INTO webhook_events (id, app_id, tenant_id, livemode, type, object_kind, object_id, object, origin, created_at_ms)
         SELECT ${NEW_EVENT_ID}, s.app_id, s.tenant_id, s.livemode, s.type, ?${n + 1}, s.object_id, '{}', ?${n + 2}, ?${n + 3}
         FROM (${select}) s WHERE s.type IS NOT NULL`,
      )
      .bind(...params, kind, this.origin, this.atMs);
  }

  /** Whether any event statement was made (else there is nothing to finish). */
  get empty(): boolean {
    return this.kinds.size === 0;
  }

  /**
   * The batch's last statements: each event's object from its row, and the deliveries, one per
   * enabled endpoint of the app in that mode whose types include the event's.
   */
  finish(): D1PreparedStatement[] {
    if (this.empty) return [];
    const atSeconds = Math.floor(this.atMs / 1000);
    const fills = [...this.kinds].map((kind) =>
      this.db
        .prepare(
          `UPDATE webhook_events SET object = (SELECT ${OBJECT_JSON[kind]} FROM ${TABLE[kind]} o WHERE o.id = webhook_events.object_id)
           WHERE origin = ?1 AND object_kind = ?2`,
        )
        .bind(this.origin, kind),
    );
    return [...fills, fanOutStatement(this.db, "e.origin = ?1", [this.origin], atSeconds)];
  }
}

/**
 * Deliveries for the events that `where` selects (alias `e`), to every enabled endpoint of the
 * event's app and mode whose types include it; existing ones are left as they are.
 */
function fanOutStatement(
  db: D1Database,
  where: string,
  params: unknown[],
  now: number,
): D1PreparedStatement {
  const n = params.length;
  return db
    .prepare(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id, app_id, status, next_attempt_at, created_at, updated_at)
       SELECT e.id, p.id, e.app_id, 'pending', ?${n + 1}, ?${n + 1}, ?${n + 1}
       FROM webhook_events e JOIN webhook_endpoints p
         ON p.app_id = e.app_id AND p.livemode = e.livemode AND p.status = 'enabled'
        AND (p.event_types IS NULL OR EXISTS (SELECT 1 FROM json_each(p.event_types) WHERE value = e.type))
       WHERE ${where}
       ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
    )
    .bind(...params, now);
}
