import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeliveryMessage } from "../../src/db/deliveries.ts";
import type { Bindings } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { enqueueOrigin } from "../../src/outbound/producer.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { runCron } from "./helpers/billing.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import {
  deliveryRow,
  eventsOfApp,
  givenCheckoutRow,
  givenEndpoint,
  givenUnsentEvent,
} from "./helpers/outbound.ts";
import { eventually } from "./helpers/receivers.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver, signedEventRequest } from "./helpers/webhooks.ts";

/**
 * Issue 15, items 2 and 3: the outbox is written in the same D1 batch as the change, so a batch
 * that fails leaves neither; the cron's sweep hands over what was never handed over or whose
 * message was lost; the retention deletes old events with their deliveries and attempts.
 */

/**
 * A D1 binding whose batches (those whose SQL `which` picks; all by default) fail at their last
 * statement, inside D1's transaction (a real constraint failure, not a refusal before it runs):
 * what a crash between the change and its event would look like if they were not in one
 * transaction.
 */
function failingAtTheEnd(db: D1Database, which: (sql: string[]) => boolean = () => true) {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          // workerd's prepared statements carry their SQL.
          const sql = statements.map((s) => (s as unknown as { statement: string }).statement);
          if (!which(sql)) return target.batch(statements);
          return target.batch([
            ...statements,
            target.prepare("INSERT INTO webhook_events (id) VALUES (NULL)"),
          ]);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function deliverWith(bindings: Bindings, event: unknown) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    (await signedEventRequest(event)) as Request<unknown, IncomingRequestCfProperties>,
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response.status;
}

describe("the outbox is in the change's batch", () => {
  it("records neither the completion nor its events when the batch fails, and both once when Stripe redelivers", async () => {
    const { app, headers } = await givenWriter();
    await givenEndpoint(headers);
    const res = await postJson(
      "/api/v1/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    const sessionId = (res.body.data as { checkout: { id: string } }).checkout.id;
    const completed = stripe
      .completeSession(sessionId)
      .find((e) => e.type === "checkout.session.completed");
    const broken = { ...env, DB: failingAtTheEnd(env.DB) } as Bindings;
    expect(await deliverWith(broken, completed)).toBe(500);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("open");
    expect(await eventsOfApp(app.id)).toEqual([]);
    const seen = await env.DB.prepare("SELECT id FROM stripe_events WHERE id = ?1")
      .bind(completed?.id)
      .first();
    expect(seen).toBeNull();

    expect((await deliver(completed)).status).toBe(200);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("complete");
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
    ]);
    expect((await deliver(completed)).status).toBe(200);
    expect(await eventsOfApp(app.id)).toHaveLength(2);
  });

  it("expires nothing and writes no event when the cron's expiry batch fails", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      "/api/v1/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    // Stripe expired it and its event is lost: the cron reads it, and records the expiry.
    stripe.expireSession((res.body.data as { checkout: { id: string } }).checkout.id);
    const [row] = await rowsOfApp(app.id);
    const controller = {
      scheduledTime: ((row?.expires_at ?? 0) + 60) * 1000,
      cron: "*/10 * * * *",
    };
    const expiry = (sql: string[]) =>
      sql.some((s) => s.includes("SET status = 'expired', stripe_session_id"));
    const broken = { ...env, DB: failingAtTheEnd(env.DB, expiry) } as Bindings;
    await expect(worker.scheduled(controller as ScheduledController, broken)).rejects.toThrow();
    expect((await rowsOfApp(app.id))[0]?.status).toBe("open");
    expect(await eventsOfApp(app.id)).toEqual([]);
    await runCron((row?.expires_at ?? 0) + 60);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("expired");
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.expired"]);
  });
});

describe("handing over, and the sweep", () => {
  it("leaves deliveries unclaimed when the queue refuses them, for the sweep to send", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    const origin = (
      await env.DB.prepare("SELECT origin FROM webhook_events WHERE id = ?1")
        .bind(event.id)
        .first<{ origin: string }>()
    )?.origin as string;
    const refusing = {
      send: async () => {
        throw new Error("Queue send failed: 503");
      },
      sendBatch: async () => {
        throw new Error("Queue send failed: 503");
      },
    } as unknown as Queue<DeliveryMessage>;
    const sent = await enqueueOrigin(
      { db: env.DB, queue: refusing, now: () => Math.floor(Date.now() / 1000) },
      origin,
    );
    expect(sent).toBe(0);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({
      enqueued_at: null,
      status: "pending",
    });

    // The next cron run (a minute later at least) hands it over, and it is delivered.
    await runCron(Math.floor(Date.now() / 1000) + 120);
    await eventually(() => endpoint.receiver.requests.length === 1);
    await eventually(
      async () => (await deliveryRow(event.id, endpoint.id))?.status === "delivered",
    );
  });

  it("sends a delivery again whose attempt is long overdue (its message was lost), superseding the lost one", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    const now = Math.floor(Date.now() / 1000);
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET enqueued_at = ?2, generation = 1, next_attempt_at = ?2 WHERE event_id = ?1",
    )
      .bind(event.id, now - 3600)
      .run();
    await runCron(now);
    await eventually(() => endpoint.receiver.requests.length === 1);
    const row = await eventually(async () => {
      const r = await deliveryRow(event.id, endpoint.id);
      return r?.status === "delivered" ? r : null;
    });
    expect(row.generation).toBe(2);
  });
});

describe("the queue's message retention (issue 19, B9)", () => {
  it("sends a new message for a waiting delivery before the queue's retention can drop its message, and leaves younger or leased ones", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const [aging, young, leased] = [
      await givenUnsentEvent(rowId),
      await givenUnsentEvent(rowId),
      await givenUnsentEvent(rowId),
    ];
    const now = Math.floor(Date.now() / 1000);
    const hour = 3_600;
    // Each waits for its next attempt, hours away, on a message sent earlier: retried with a
    // delay, a message keeps its age, and the queue drops it at its retention (1 day at least).
    const waiting = async (eventId: string, sentAgo: number, leaseUntil: number | null) =>
      env.DB.prepare(
        `UPDATE webhook_deliveries SET enqueued_at = ?2, generation = 1, attempts = 8, next_attempt_at = ?3,
           lease_until = ?4 WHERE event_id = ?1`,
      )
        .bind(eventId, now - sentAgo, now + 10 * hour, leaseUntil)
        .run();
    await waiting(aging.id, 21 * hour, null);
    await waiting(young.id, 2 * hour, null);
    await waiting(leased.id, 21 * hour, now + 60);

    await runCron(now);

    expect(await deliveryRow(aging.id, endpoint.id)).toMatchObject({
      generation: 2,
      enqueued_at: now,
      status: "pending",
      next_attempt_at: now + 10 * hour,
    });
    expect(await deliveryRow(young.id, endpoint.id)).toMatchObject({ generation: 1 });
    expect(await deliveryRow(leased.id, endpoint.id)).toMatchObject({ generation: 1 });
    // The new message is a reminder: the attempt still waits for its time.
    expect(endpoint.receiver.requests).toEqual([]);
  });
});

describe("retention", () => {
  it("deletes events older than WEBHOOK_RETENTION_DAYS with their deliveries and attempts, and keeps newer ones", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const old = await givenUnsentEvent(rowId);
    const recent = await givenUnsentEvent(rowId, "checkout.expired");
    const day = 86_400_000;
    await env.DB.prepare("UPDATE webhook_events SET created_at_ms = ?2 WHERE id = ?1")
      .bind(old.id, Date.now() - 31 * day)
      .run();
    await env.DB.batch([
      env.DB.prepare(
        "UPDATE webhook_deliveries SET status = 'delivered' WHERE endpoint_id = ?1",
      ).bind(endpoint.id),
      env.DB.prepare(
        "INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, at_ms, status_code, duration_ms) VALUES (?1, ?2, 1, 0, 204, 3)",
      ).bind(old.id, endpoint.id),
    ]);
    await runCron(Math.floor(Date.now() / 1000));
    expect((await eventsOfApp(app.id)).map((e) => e.id)).toEqual([recent.id]);
    expect(await deliveryRow(old.id, endpoint.id)).toBeNull();
    expect(await deliveryRow(recent.id, endpoint.id)).not.toBeNull();
    const attempts = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM webhook_attempts WHERE event_id = ?1",
    )
      .bind(old.id)
      .first<{ n: number }>();
    expect(attempts?.n).toBe(0);
  });
});
