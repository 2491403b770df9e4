import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { deliverAll } from "./helpers/billing.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import {
  consume,
  deliveryRow,
  eventsOfApp,
  givenCheckoutRow,
  givenEndpoint,
  givenUnsentEvent,
  listDeliveries,
  verifiedBy,
} from "./helpers/outbound.ts";
import { eventually, newReceiver } from "./helpers/receivers.ts";
import { stripe } from "./helpers/stripe.ts";

/**
 * Issue 15, items 3 and 4, through the real local queue: the Stripe webhook's batch commits,
 * the handler hands the deliveries to Queues, the consumer POSTs them; and what the app can see
 * and do about it: the events since a time, the delivery log, a redelivery.
 */

async function paidCheckout(headers: Record<string, string>) {
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState() }),
    headers,
  );
  const id = (res.body.data as { checkout: { id: string } }).checkout.id;
  await deliverAll(stripe.completeSession(id));
  return id;
}

describe("delivery through the local queue", () => {
  it("delivers each event to each endpoint that takes it, signed, and to nothing else", async () => {
    const { app, headers } = await givenWriter({ liveEnabled: true });
    const all = await givenEndpoint(headers);
    const onlyCompleted = await givenEndpoint(headers, { eventTypes: ["checkout.completed"] });
    const live = await givenEndpoint(headers, { test: false });
    const disabled = await givenEndpoint(headers);
    await call(`/api/v1/webhook-endpoints/${disabled.id}`, {
      method: "PATCH",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ enabled: false }),
    });
    await paidCheckout(headers);
    const events = await eventsOfApp(app.id);
    expect(events.map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
      "invoice.paid",
    ]);
    await eventually(
      () => all.receiver.requests.length === 3 && onlyCompleted.receiver.requests.length === 1,
    );
    expect(all.receiver.requests.map((r) => verifiedBy(all.secret, r).type).sort()).toEqual(
      events.map((e) => e.type).sort(),
    );
    expect(verifiedBy(onlyCompleted.secret, onlyCompleted.receiver.requests[0] as never).type).toBe(
      "checkout.completed",
    );
    const rows = await env.DB.prepare(
      "SELECT endpoint_id, status FROM webhook_deliveries WHERE app_id = ?1",
    )
      .bind(app.id)
      .all<{ endpoint_id: string; status: string }>();
    expect(rows.results.filter((r) => r.endpoint_id === all.id).map((r) => r.status)).toEqual([
      "delivered",
      "delivered",
      "delivered",
    ]);
    expect(
      rows.results.some((r) => r.endpoint_id === live.id || r.endpoint_id === disabled.id),
    ).toBe(false);
    expect(live.receiver.requests).toHaveLength(0);
    expect(disabled.receiver.requests).toHaveLength(0);
  });

  it("retries through the queue after a failure, with the same webhook-id and body", async () => {
    const { headers } = await givenWriter();
    const receiver = newReceiver((_, n) => new Response(null, { status: n === 1 ? 500 : 204 }));
    const endpoint = await givenEndpoint(headers, { eventTypes: ["checkout.completed"] }, receiver);
    await paidCheckout(headers);
    // The first retry comes after the schedule's 5 seconds.
    await eventually(() => receiver.requests.length >= 2, 12_000);
    const [first, second] = receiver.requests;
    expect(first?.headers["webhook-id"]).toBe(second?.headers["webhook-id"]);
    expect(first?.body).toBe(second?.body);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(4_000);
    const log = await listDeliveries(headers, `endpointId=${endpoint.id}`);
    expect(log.body.data).toMatchObject({
      deliveries: [
        {
          status: "delivered",
          attemptCount: 2,
          attempts: [
            { attempt: 2, statusCode: 204, error: null },
            { attempt: 1, statusCode: 500, error: "answered 500" },
          ],
        },
      ],
    });
  }, 20_000);
});

describe("GET /api/v1/webhook-events", () => {
  it("lists an app's events of a mode in order, since a time, of a type, page by page", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    await paidCheckout(headers);
    await paidCheckout(headers);
    const get = (query: string) => call(`/api/v1/webhook-events?${query}`, { headers: read });
    const all = await get("test=true");
    expect(all.status).toBe(200);
    const events = (all.body.data as { events: { id: string; type: string; createdAt: string }[] })
      .events;
    expect(events.map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
      "invoice.paid",
      "checkout.completed",
      "checkout.payment_succeeded",
      "invoice.paid",
    ]);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof get>> = await get(
        `test=true&limit=4${cursor ? `&cursor=${cursor}` : ""}`,
      );
      const data = page.body.data as { events: { id: string }[]; nextCursor: string | null };
      ids.push(...data.events.map((e) => e.id));
      cursor = data.nextCursor;
    } while (cursor);
    expect(ids).toEqual(events.map((e) => e.id));
    const completed = await get("test=true&type=checkout.completed");
    expect((completed.body.data as { events: unknown[] }).events).toHaveLength(2);
    const later = await get(
      `test=true&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(later.body.data).toEqual({ events: [], nextCursor: null });
    const live = await get("");
    expect(live.body.data).toEqual({ events: [], nextCursor: null });
    const { headers: other } = await givenWriter();
    const theirs = await call("/api/v1/webhook-events?test=true", { headers: other });
    expect(theirs.body.data).toEqual({ events: [], nextCursor: null });
  });

  it.each([
    ["cursor=zzz", "cursor must be a nextCursor this API returned"],
    ["since=yesterday", "since must be a time in ISO 8601 (2026-12-01T10:00:00Z)"],
    [
      "type=checkout.session.completed",
      "type must be one of checkout.completed, checkout.expired,",
    ],
    ["limit=0", "limit must be from 1 to 100"],
    ["limit=101", "limit must be from 1 to 100"],
    ["foo=1", "Unknown query parameter: foo"],
  ])("refuses %s", async (query, error) => {
    const { headers } = await givenWriter();
    const res = await call(`/api/v1/webhook-events?test=true&${query}`, { headers });
    expect(res.status).toBe(400);
    expect(res.body.error).toContain(error);
  });
});

describe("GET /api/v1/webhook-deliveries and POST …/redeliver", () => {
  it("shows an event's deliveries with every attempt, and refuses neither or both ids", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(
      headers,
      {},
      newReceiver(() => new Response("no", { status: 500 })),
    );
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    await consume([{ eventId: event.id, endpointId: endpoint.id, generation: 0 }]);
    const res = await listDeliveries(headers, `eventId=${event.id}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      deliveries: [
        {
          eventId: event.id,
          endpointId: endpoint.id,
          status: "pending",
          attemptCount: 1,
          lastStatusCode: 500,
          attempts: [{ attempt: 1, statusCode: 500, error: "answered 500", responseExcerpt: "no" }],
        },
      ],
      nextCursor: null,
    });
    for (const query of ["", `eventId=${event.id}&endpointId=${endpoint.id}`]) {
      const bad = await listDeliveries(headers, query);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe("Give exactly one of eventId and endpointId");
    }
    const { headers: other } = await givenWriter();
    const theirs = await listDeliveries(other, `eventId=${event.id}`);
    expect(theirs.body.data).toEqual({ deliveries: [], nextCursor: null });
  });

  it("redelivers an event: a new round, due now, handed to the queue, same webhook-id and body", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    await consume([{ eventId: event.id, endpointId: endpoint.id, generation: 0 }]);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({ status: "delivered" });
    const res = await postJson(`/api/v1/webhook-events/${event.id}/redeliver`, {}, headers);
    expect(res.status).toBe(202);
    // A new round: nothing of the last one's outcome shows as this one's (the log keeps it).
    expect(res.body.data).toEqual({
      deliveries: [
        {
          eventId: event.id,
          endpointId: endpoint.id,
          status: "pending",
          attemptCount: 0,
          nextAttemptAt: expect.any(String),
          deliveredAt: null,
          lastStatusCode: null,
          lastError: null,
          attempts: [],
        },
      ],
    });
    await eventually(() => endpoint.receiver.requests.length === 2);
    const [first, again] = endpoint.receiver.requests;
    expect(again?.headers["webhook-id"]).toBe(event.id);
    expect(again?.body).toBe(first?.body);
    await eventually(
      async () => (await deliveryRow(event.id, endpoint.id))?.status === "delivered",
    );
    const log = await listDeliveries(headers, `eventId=${event.id}`);
    expect(log.body.data).toMatchObject({
      deliveries: [{ attempts: [{ attempt: 2 }, { attempt: 1 }] }],
    });
    // No body at all is fine too.
    const empty = await call(`/api/v1/webhook-events/${event.id}/redeliver`, {
      method: "POST",
      headers,
    });
    expect(empty.status).toBe(202);
    await eventually(() => endpoint.receiver.requests.length === 3);
  });

  it("redelivers to an endpoint created after the event, and refuses what cannot be sent", async () => {
    const { app, headers } = await givenWriter({ liveEnabled: true });
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    const redeliver = (body: unknown) =>
      postJson(`/api/v1/webhook-events/${event.id}/redeliver`, body, headers);
    const none = await redeliver({});
    expect(none.status).toBe(409);
    expect(none.body.error).toBe(
      "No enabled webhook endpoint of this app takes checkout.completed events in test mode",
    );
    const picky = await givenEndpoint(headers, { eventTypes: ["invoice.paid"] });
    expect((await redeliver({ endpointId: picky.id })).body.error).toBe(
      "This webhook endpoint does not take checkout.completed events",
    );
    const live = await givenEndpoint(headers, { test: false });
    expect((await redeliver({ endpointId: live.id })).body.error).toBe(
      "This webhook endpoint receives live-mode events, not this event's",
    );
    const later = await givenEndpoint(headers);
    await call(`/api/v1/webhook-endpoints/${later.id}`, {
      method: "PATCH",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ enabled: false }),
    });
    const off = await redeliver({ endpointId: later.id });
    expect(off.status).toBe(409);
    expect(off.body.error).toContain("This webhook endpoint is disabled; enable it first");
    await call(`/api/v1/webhook-endpoints/${later.id}`, {
      method: "PATCH",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ enabled: true }),
    });
    const ok = await redeliver({ endpointId: later.id });
    expect(ok.status).toBe(202);
    await eventually(() => later.receiver.requests.length === 1);
    expect(verifiedBy(later.secret, later.receiver.requests[0] as never).id).toBe(event.id);
    const unknown = await postJson(
      `/api/v1/webhook-events/evt_${"0".repeat(32)}/redeliver`,
      {},
      headers,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("No webhook event with this id");
    const read = (await givenKey(app.id, "read")).headers;
    const byReader = await postJson(`/api/v1/webhook-events/${event.id}/redeliver`, {}, read);
    expect(byReader.status).toBe(403);
  });
});
