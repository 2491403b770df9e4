import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { givenWriter } from "./helpers/apps.ts";
import { runCron } from "./helpers/billing.ts";
import { call, postJson } from "./helpers/http.ts";
import {
  attemptRows,
  consume,
  consumeDeadLetters,
  deliveryRow,
  givenCheckoutRow,
  givenEndpoint,
  givenUnsentEvent,
  verifiedBy,
} from "./helpers/outbound.ts";
import { eventually, newReceiver } from "./helpers/receivers.ts";

/**
 * Issue 15, items 3 and 5: the queue consumer, given its messages as Queues would give them:
 * Standard Webhooks signatures the reference library accepts, the retry schedule with
 * retry({ delaySeconds }), chained delays, dead deliveries and dead letters, and the endpoint's
 * failure state. (webhook-delivery.test.ts runs the real local queue end to end.)
 */

const SPEC_SCHEDULE = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

async function setUp(
  answer?: Parameters<typeof newReceiver>[0],
  body: Record<string, unknown> = {},
) {
  const { app, headers } = await givenWriter();
  const receiver = newReceiver(answer);
  const endpoint = await givenEndpoint(headers, body, receiver);
  const { rowId } = await givenCheckoutRow(headers, app.id);
  const event = await givenUnsentEvent(rowId);
  const message = { eventId: event.id, endpointId: endpoint.id, generation: 0 };
  return { app, headers, receiver, endpoint, event, message };
}

/** Makes the delivery due now (the tests do not wait out the schedule). */
async function makeDue(eventId: string, endpointId: string) {
  await env.DB.prepare(
    "UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE event_id = ?1 AND endpoint_id = ?2",
  )
    .bind(eventId, endpointId)
    .run();
}

describe("signatures", () => {
  it("signs so that the reference library verifies it, with the id, timestamp and body of the event", async () => {
    const { app, receiver, endpoint, event, message } = await setUp();
    const result = await consume([message]);
    expect(result.acked).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    if (!request) throw new Error("nothing sent");
    const verified = verifiedBy(endpoint.secret, request);
    expect(verified).toMatchObject({
      id: event.id,
      type: "checkout.completed",
      appId: app.id,
      livemode: false,
      object: { kind: "checkout", sequence: event.seq },
    });
    expect(request.headers["webhook-id"]).toBe(event.id);
    expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(
      10,
    );
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it("fails verification with another secret, and with a body or id that was changed", async () => {
    const { receiver, endpoint, message } = await setUp();
    await consume([message]);
    const [request] = receiver.requests;
    if (!request) throw new Error("nothing sent");
    const other = `whsec_${btoa("x".repeat(32))}`;
    expect(() => new Webhook(other).verify(request.body, request.headers)).toThrow();
    const tampered = request.body.replace('"checkout.completed"', '"checkout.expired"');
    expect(() => new Webhook(endpoint.secret).verify(tampered, request.headers)).toThrow();
    const otherId = { ...request.headers, "webhook-id": "evt_00000000000000000000000000000000" };
    expect(() => new Webhook(endpoint.secret).verify(request.body, otherId)).toThrow();
  });

  it("signs with the new and the replaced secret after a rotation, so a receiver with either accepts it", async () => {
    const { headers, receiver, endpoint, message } = await setUp();
    const rotated = await call(`/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {
      method: "POST",
      headers,
    });
    const fresh = (rotated.body.data as { endpoint: { secret: string } }).endpoint.secret;
    await consume([message]);
    const [request] = receiver.requests;
    if (!request) throw new Error("nothing sent");
    expect(request.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(verifiedBy(fresh, request).id).toBe(message.eventId);
    expect(verifiedBy(endpoint.secret, request).id).toBe(message.eventId);
    // A day later the replaced secret no longer signs.
    await env.DB.prepare(
      "UPDATE webhook_endpoints SET previous_secrets = json_set(previous_secrets, '$[0].until', 1) WHERE id = ?1",
    )
      .bind(endpoint.id)
      .run();
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = 0 WHERE event_id = ?1",
    )
      .bind(message.eventId)
      .run();
    await consume([message]);
    const later = receiver.requests[1];
    if (!later) throw new Error("not sent again");
    expect(later.headers["webhook-signature"]?.split(" ")).toHaveLength(1);
    expect(verifiedBy(fresh, later).id).toBe(message.eventId);
    expect(() => new Webhook(endpoint.secret).verify(later.body, later.headers)).toThrow();
  });
});

describe("retries", () => {
  it("retries a failed attempt on the schedule with retry({ delaySeconds }), the same body each time, and gives up after the last", async () => {
    const { receiver, endpoint, event, message } = await setUp(
      () => new Response("busy, try later", { status: 503 }),
    );
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < SPEC_SCHEDULE.length + 1; i++) {
      await makeDue(event.id, endpoint.id);
      const result = await consume([message]);
      delays.push(result.retried[0]?.delaySeconds);
      if (i === SPEC_SCHEDULE.length) expect(result.acked).toHaveLength(1);
    }
    // Queues delays at most 12 hours: longer waits are chained (14 h, 20 h, 24 h).
    expect(delays).toEqual([...SPEC_SCHEDULE.map((s) => Math.min(s, 43_200)), undefined]);
    expect(receiver.requests).toHaveLength(10);
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"]))).toEqual(
      new Set([event.id]),
    );
    const row = await deliveryRow(event.id, endpoint.id);
    expect(row).toMatchObject({ status: "dead", attempts: 10, last_status_code: 503 });
    const attempts = await attemptRows(event.id, endpoint.id);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(attempts[0]).toMatchObject({
      status_code: 503,
      error: "answered 503",
      response_excerpt: "busy, try later",
    });
  });

  it("chains a wait longer than Queues allows, and attempts only when it is due", async () => {
    const { receiver, endpoint, event, message } = await setUp();
    const now = Math.floor(Date.now() / 1000);
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET next_attempt_at = ?3 WHERE event_id = ?1 AND endpoint_id = ?2",
    )
      .bind(event.id, endpoint.id, now + 72_000)
      .run();
    const early = await consume([message]);
    expect(early.retried[0]?.delaySeconds).toBe(43_200);
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET next_attempt_at = ?3 WHERE event_id = ?1 AND endpoint_id = ?2",
    )
      .bind(event.id, endpoint.id, now + 100)
      .run();
    const closer = await consume([message]);
    expect(closer.retried[0]?.delaySeconds).toBeGreaterThanOrEqual(99);
    expect(closer.retried[0]?.delaySeconds).toBeLessThanOrEqual(101);
    expect(receiver.requests).toHaveLength(0);
  });

  it("drops a superseded message, a finished delivery and a delivery that is gone, without sending", async () => {
    const { receiver, endpoint, event, message } = await setUp();
    const stale = await consume([{ ...message, generation: 7 }]);
    expect(stale.acked).toHaveLength(1);
    const gone = await consume([{ ...message, endpointId: "we_000000000000000000000000" }]);
    expect(gone.acked).toHaveLength(1);
    const garbage = await consume([{ hello: "world" }, "text"]);
    expect(garbage.acked).toHaveLength(2);
    expect(receiver.requests).toHaveLength(0);
    await consume([message]);
    const again = await consume([message]);
    expect(again.acked).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({ status: "delivered" });
  });

  it("attempts a delivery once when two messages of it arrive at once (a lease)", async () => {
    const { receiver, event, endpoint, message } = await setUp(async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return new Response(null, { status: 204 });
    });
    const results = await Promise.all([consume([message]), consume([message])]);
    expect(receiver.requests).toHaveLength(1);
    // The other message finds the lease and comes back after it, to see the delivery done.
    expect(results.flatMap((r) => r.acked)).toHaveLength(1);
    expect(results.flatMap((r) => r.retried).map((r) => r.delaySeconds)).toEqual([
      expect.any(Number),
    ]);
    expect(await attemptRows(event.id, endpoint.id)).toHaveLength(1);
  });

  it.each([
    [
      "a redirect (not followed)",
      () => new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/" } }),
      { status_code: 302, error: "answered 302, a redirect, which is not followed" },
    ],
    [
      "no answer within the timeout",
      () => new Promise<Response>(() => undefined),
      { status_code: null, error: "no answer within 500 ms" },
    ],
    [
      "a dropped connection",
      () => Promise.reject(new TypeError("Network connection lost.")),
      { status_code: null, error: "could not connect (TypeError)" },
    ],
  ])("counts %s as a failure, and retries it", async (_name, answer, expected) => {
    const { receiver, endpoint, event, message } = await setUp(answer as never);
    const result = await consume([message]);
    expect(result.retried[0]?.delaySeconds).toBe(5);
    expect(receiver.requests).toHaveLength(1);
    const [attempt] = await attemptRows(event.id, endpoint.id);
    expect(attempt).toMatchObject(expected);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({
      status: "pending",
      attempts: 1,
    });
  });

  it("keeps at most 256 characters of an answer's body, as printable text", async () => {
    const { endpoint, event, message } = await setUp(
      () => new Response(`\u0000oops\n${"é".repeat(5000)}`, { status: 500 }),
    );
    await consume([message]);
    const [attempt] = await attemptRows(event.id, endpoint.id);
    expect(attempt?.response_excerpt?.startsWith("oops é")).toBe(true);
    expect(Array.from(attempt?.response_excerpt ?? "").length).toBeLessThanOrEqual(256);
  });
});

describe("the endpoint", () => {
  it("refuses at delivery a URL that is no longer allowed (changed in D1), and records why", async () => {
    const { receiver, endpoint, event, message } = await setUp();
    await env.DB.prepare("UPDATE webhook_endpoints SET url = 'https://10.1.2.3/hook' WHERE id = ?1")
      .bind(endpoint.id)
      .run();
    const result = await consume([message]);
    expect(result.retried[0]?.delaySeconds).toBe(5);
    expect(receiver.requests).toHaveLength(0);
    const [attempt] = await attemptRows(event.id, endpoint.id);
    expect(attempt?.error).toBe("not sent: url must name a public host, not an IP address");
  });

  it("cancels deliveries to a disabled endpoint instead of sending them", async () => {
    const { receiver, endpoint, event, message } = await setUp();
    await env.DB.prepare(
      "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'app' WHERE id = ?1",
    )
      .bind(endpoint.id)
      .run();
    const result = await consume([message]);
    expect(result.acked).toHaveLength(1);
    expect(receiver.requests).toHaveLength(0);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({ status: "canceled" });
  });

  it("counts failures, forgets them after a success, and disables an endpoint that failed for 5 days", async () => {
    const { headers, receiver, endpoint, event, message } = await setUp(
      () => new Response(null, { status: 500 }),
    );
    await consume([message]);
    const show = async () =>
      (
        (await call(`/api/v1/webhook-endpoints/${endpoint.id}`, { headers })).body.data as {
          endpoint: Record<string, unknown>;
        }
      ).endpoint;
    expect(await show()).toMatchObject({ consecutiveFailures: 1, status: "enabled" });
    expect((await show()).failingSince).not.toBeNull();
    receiver.answer(() => new Response(null, { status: 200 }));
    await makeDue(event.id, endpoint.id);
    await consume([message]);
    expect(await show()).toMatchObject({ consecutiveFailures: 0, failingSince: null });

    receiver.answer(() => new Response(null, { status: 500 }));
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = 0 WHERE event_id = ?1",
    )
      .bind(event.id)
      .run();
    await env.DB.prepare("UPDATE webhook_endpoints SET failing_since = ?2 WHERE id = ?1")
      .bind(endpoint.id, Math.floor(Date.now() / 1000) - 5 * 86_400)
      .run();
    await consume([message]);
    expect(await show()).toMatchObject({
      status: "disabled",
      disabled: { reason: "failing" },
    });
  });
});

/**
 * Issue 19, B10b: "failing for 5 days" is failures without a success and without a gap longer
 * than the schedule's longest wait (24 h, and an hour for the queue's lateness); after a longer
 * gap the endpoint was idle, not failing, and its failing time starts again.
 */
describe("failing for 5 days", () => {
  const HOUR = 3600_000;

  /** One failed attempt of the delivery at `atMs`, the consumer's clock set there. */
  async function failAt(atMs: number, eventId: string, endpointId: string, message: unknown) {
    vi.setSystemTime(atMs);
    await makeDue(eventId, endpointId);
    const result = await consume([message]);
    expect(result.retried).toHaveLength(1);
  }

  async function endpointRow(id: string) {
    return env.DB.prepare(
      "SELECT status, disabled_reason, failing_since, consecutive_failures FROM webhook_endpoints WHERE id = ?1",
    )
      .bind(id)
      .first<{
        status: string;
        disabled_reason: string | null;
        failing_since: number;
        consecutive_failures: number;
      }>();
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  it("does not disable an endpoint for one failure after idle days: its failing time starts again", async () => {
    const { receiver, endpoint, event, message } = await setUp(
      () => new Response(null, { status: 500 }),
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    await failAt(t0, event.id, endpoint.id, message);
    expect(await endpointRow(endpoint.id)).toMatchObject({
      status: "enabled",
      failing_since: t0 / 1000,
    });
    // Nothing to send for six days, then one failure.
    const later = t0 + 6 * 24 * HOUR;
    await failAt(later, event.id, endpoint.id, message);
    expect(receiver.requests).toHaveLength(2);
    expect(await endpointRow(endpoint.id)).toMatchObject({
      status: "enabled",
      disabled_reason: null,
      failing_since: later / 1000,
      consecutive_failures: 2,
    });
  });

  it("disables an endpoint whose attempts failed for 5 days, each within the schedule's longest wait (and the queue's lateness) of the last", async () => {
    const { endpoint, event, message } = await setUp(() => new Response(null, { status: 503 }));
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    // 24 h and 20 min apart (the longest wait, the message a little late), then closer.
    const offsets = [
      0,
      24 * HOUR + 20 * 60_000,
      48 * HOUR + 40 * 60_000,
      72 * HOUR + HOUR,
      96 * HOUR + 80 * 60_000,
    ];
    for (const offset of offsets) {
      await failAt(t0 + offset, event.id, endpoint.id, message);
      expect(await endpointRow(endpoint.id)).toMatchObject({
        status: "enabled",
        failing_since: t0 / 1000,
      });
    }
    await failAt(t0 + 120 * HOUR, event.id, endpoint.id, message);
    expect(await endpointRow(endpoint.id)).toMatchObject({
      status: "disabled",
      disabled_reason: "failing",
      failing_since: t0 / 1000,
      consecutive_failures: 6,
    });
  });
});

describe("a redelivery during an attempt", () => {
  it("is not undone by the attempt's outcome, even when that was the last attempt", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { headers, receiver, endpoint, event, message } = await setUp(async (_r, n) => {
      if (n > 1) return new Response("ok", { status: 200 });
      await held;
      return new Response("unavailable", { status: 503 });
    });
    // The round's last attempt: its failure would make the delivery dead.
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET attempts = ?3 WHERE event_id = ?1 AND endpoint_id = ?2",
    )
      .bind(event.id, endpoint.id, SPEC_SCHEDULE.length)
      .run();
    const attempting = consume([message]);
    await eventually(() => receiver.requests.length === 1);
    const res = await postJson(`/api/v1/webhook-events/${event.id}/redeliver`, {}, headers);
    expect(res.status).toBe(202);
    release();
    expect((await attempting).acked).toHaveLength(1);
    // The failed attempt is logged, and the redelivery's round stands: pending, due, unleased.
    expect(await attemptRows(event.id, endpoint.id)).toMatchObject([{ status_code: 503 }]);
    const row = await deliveryRow(event.id, endpoint.id);
    expect(row).toMatchObject({ status: "pending", attempts: 0, lease_until: null });
    await consume([{ ...message, generation: Number(row?.generation) }]);
    await eventually(
      async () => (await deliveryRow(event.id, endpoint.id))?.status === "delivered",
    );
    expect(receiver.requests).toHaveLength(2);
  });
});

describe("dead letters and the consumer's own failures", () => {
  it("hands the delivery of a dead-lettered message back to the sweep, saying why, and it is delivered", async () => {
    const { receiver, endpoint, event, message } = await setUp();
    const result = await consumeDeadLetters([message]);
    expect(result.acked).toHaveLength(1);
    expect(receiver.requests).toHaveLength(0);
    // Not dead: the service failed, not the receiver; still pending, and not handed over.
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({
      status: "pending",
      enqueued_at: null,
      lease_until: null,
      last_error:
        "dead-lettered: the queue gave up on it after 31 tries (the service could not process it); the sweep sends it again",
    });
    // The next cron run (a minute later at least) sends it in a new round of messages.
    await runCron(Math.floor(Date.now() / 1000) + 120);
    await eventually(
      async () => (await deliveryRow(event.id, endpoint.id))?.status === "delivered",
    );
    expect(receiver.requests).toHaveLength(1);
  });

  it("leaves a newer round alone when a message of an older one is dead-lettered", async () => {
    const { receiver, endpoint, event, message } = await setUp();
    // The sweep or a redelivery sent the delivery again (generation 1) while the old message
    // kept failing.
    await env.DB.prepare(
      "UPDATE webhook_deliveries SET generation = 1 WHERE event_id = ?1 AND endpoint_id = ?2",
    )
      .bind(event.id, endpoint.id)
      .run();
    const result = await consumeDeadLetters([message]);
    expect(result.acked).toHaveLength(1);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({
      status: "pending",
      last_error: null,
    });
    await consume([{ ...message, generation: 1 }]);
    expect(receiver.requests).toHaveLength(1);
    expect(await deliveryRow(event.id, endpoint.id)).toMatchObject({ status: "delivered" });
  });

  it("retries a message after 30 s when it cannot read or write D1, and sends nothing", async () => {
    const { receiver, message } = await setUp();
    const realPrepare = env.DB.prepare.bind(env.DB);
    const db = env.DB as unknown as { prepare: typeof env.DB.prepare };
    db.prepare = () => {
      throw new Error("D1_ERROR: injected fault");
    };
    try {
      const result = await consume([message]);
      expect(result.retried).toEqual([{ id: expect.any(String), delaySeconds: 30 }]);
    } finally {
      db.prepare = realPrepare;
    }
    expect(receiver.requests).toHaveLength(0);
  });
});
