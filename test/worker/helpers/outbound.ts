import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import type { DeliveryMessage, DeliveryRow } from "../../../src/db/deliveries.ts";
import { OutboxBatch } from "../../../src/db/outbox.ts";
import type { EventRow } from "../../../src/db/webhook-events.ts";
import worker from "../../../src/index.ts";
import { DEAD_LETTER_QUEUE, DELIVERY_QUEUE } from "../../../src/outbound/consumer.ts";
import type { OutboundEventType } from "../../../src/schemas/outbound.ts";
import { outboundEventSchema } from "../../../src/schemas/outbound-views.ts";
import { newState } from "./apps.ts";
import { call, postJson, rowsOfApp, validBody } from "./http.ts";
import { newReceiver, type Received, type Receiver } from "./receivers.ts";

/** An endpoint registered through the API on a new test receiver. */
export async function givenEndpoint(
  headers: Record<string, string>,
  body: Record<string, unknown> = {},
  receiver: Receiver = newReceiver(),
) {
  const res = await postJson(
    "/api/v1/webhook-endpoints",
    { url: receiver.url, test: true, ...body },
    headers,
  );
  if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${JSON.stringify(res.body)}`);
  const endpoint = (res.body.data as { endpoint: { id: string; secret: string } }).endpoint;
  return { id: endpoint.id, secret: endpoint.secret, receiver };
}

/** A checkout created through the API (not paid): its D1 row. */
export async function givenCheckoutRow(headers: Record<string, string>, appId: string) {
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState() }),
    headers,
  );
  if (res.status !== 200) throw new Error(`create: ${res.status}`);
  const sessionId = (res.body.data as { checkout: { id: string } }).checkout.id;
  const row = (await rowsOfApp(appId)).find((r) => r.stripe_session_id === sessionId);
  if (!row) throw new Error("no row");
  return { sessionId, rowId: row.id };
}

/**
 * An event of a checkout with its deliveries, written as a batch of the worker writes them but
 * never handed to the queue: the tests give the consumer its messages themselves.
 */
export async function givenUnsentEvent(
  checkoutRowId: string,
  type: OutboundEventType = "checkout.completed",
): Promise<EventRow> {
  const outbox = new OutboxBatch(env.DB, Date.now());
  await env.DB.batch([outbox.checkoutEvents(type, "id = ?1", [checkoutRowId]), ...outbox.finish()]);
  const event = await env.DB.prepare("SELECT * FROM webhook_events WHERE origin = ?1")
    .bind(outbox.origin)
    .first<EventRow>();
  if (!event) throw new Error("no event");
  return event;
}

export async function deliveryRow(eventId: string, endpointId: string) {
  return env.DB.prepare("SELECT * FROM webhook_deliveries WHERE event_id = ?1 AND endpoint_id = ?2")
    .bind(eventId, endpointId)
    .first<DeliveryRow>();
}

export async function attemptRows(eventId: string, endpointId: string) {
  const { results } = await env.DB.prepare(
    "SELECT * FROM webhook_attempts WHERE event_id = ?1 AND endpoint_id = ?2 ORDER BY attempt",
  )
    .bind(eventId, endpointId)
    .all<{
      attempt: number;
      status_code: number | null;
      error: string | null;
      response_excerpt: string | null;
      duration_ms: number;
    }>();
  return results;
}

export async function eventsOfApp(appId: string): Promise<EventRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM webhook_events WHERE app_id = ?1 ORDER BY seq",
  )
    .bind(appId)
    .all<EventRow>();
  return results;
}

/** What the queue handler did with each message, as Queues would see it. */
export interface ConsumeResult {
  acked: string[];
  retried: { id: string; delaySeconds: number | undefined }[];
  retriedAll: { delaySeconds: number | undefined } | null;
}

/**
 * Gives the worker's queue handler one batch of messages, as Queues would, and records what it
 * did with each (cloudflare:test's getQueueResult does not keep retry delays, which are the
 * point here).
 */
export async function consume(
  messages: (DeliveryMessage | unknown)[],
  options: { queue?: string; attempts?: number } = {},
): Promise<ConsumeResult> {
  const result: ConsumeResult = { acked: [], retried: [], retriedAll: null };
  const batch = {
    queue: options.queue ?? DELIVERY_QUEUE,
    messages: messages.map((body, i) => {
      const id = `msg-${i}-${crypto.randomUUID()}`;
      return {
        id,
        timestamp: new Date(),
        attempts: options.attempts ?? 1,
        body,
        ack: () => result.acked.push(id),
        retry: (o?: { delaySeconds?: number }) =>
          result.retried.push({ id, delaySeconds: o?.delaySeconds }),
      };
    }),
    ackAll: () => undefined,
    retryAll: (o?: { delaySeconds?: number }) => {
      result.retriedAll = { delaySeconds: o?.delaySeconds };
    },
  };
  const queue = worker.queue as unknown as (b: unknown, e: typeof env) => Promise<void>;
  await queue(batch, env);
  return result;
}

export const consumeDeadLetters = (messages: DeliveryMessage[], attempts = 31) =>
  consume(messages, { queue: DEAD_LETTER_QUEUE, attempts });

/** What a receiver does with a delivery: the reference library's verdict, and the event. */
export function verifiedBy(secret: string, request: Received) {
  const verified = new Webhook(secret).verify(request.body, request.headers);
  return outboundEventSchema.parse(verified);
}

export function listDeliveries(headers: Record<string, string>, query: string) {
  return call(`/api/v1/webhook-deliveries?${query}`, { headers });
}
