import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { callWithFaults } from "./helpers/faults.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const CREATE = "https://pay.example.test/api/v1/checkout-sessions";

function createRequest(headers: Record<string, string>, body: Record<string, unknown>) {
  return new Request(CREATE, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const ENVELOPE_500 = { success: false, message: null, data: null, error: "Internal error" };

describe("D1 and KV faults", () => {
  it("D1 failing after Stripe created the session: 500, then the same request gets the same session and one row", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    const failed = await callWithFaults(
      { d1: { sql: /SET status = 'open'/, times: 1 } },
      createRequest(headers, body),
    );
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(ENVELOPE_500);
    expect(failed.injected.d1).toBe(1);
    expect(stripe.sessions.size).toBe(1);
    const [pending] = await rowsOfApp(app.id);
    expect(pending).toMatchObject({ status: "pending", stripe_session_id: null });

    const retried = await postJson("/api/v1/checkout-sessions", body, headers);
    expect(retried.status).toBe(200);
    const [sessionId] = [...stripe.sessions.keys()];
    expect((retried.body.data as { checkout: { id: string } }).checkout.id).toBe(sessionId);
    expect(stripe.sessions.size).toBe(1);
    const creates = stripe.creates();
    expect(creates).toHaveLength(2);
    expect(creates[0]?.headers["idempotency-key"]).toBe(creates[1]?.headers["idempotency-key"]);
    const rows = await rowsOfApp(app.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "open", stripe_session_id: sessionId });
  });

  it("D1 failing on the reservation: 500 without calling Stripe, then the repeat succeeds", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    const failed = await callWithFaults(
      { d1: { sql: /INSERT INTO checkout_sessions/, times: 1 } },
      createRequest(headers, body),
    );
    expect(failed.status).toBe(500);
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
    expect((await postJson("/api/v1/checkout-sessions", body, headers)).status).toBe(200);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("D1 failing on every query: 500 in the envelope, nothing at Stripe", async () => {
    const { headers } = await givenWriter();
    const failed = await callWithFaults(
      { d1: { sql: /./ } },
      createRequest(headers, validBody({ state: newState() })),
    );
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(ENVELOPE_500);
    expect(stripe.requests).toHaveLength(0);
  });

  it("KV failing on the key lookup: 500 in the envelope, nothing written; then the repeat succeeds", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    const failed = await callWithFaults({ kvGet: { times: 1 } }, createRequest(headers, body));
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(ENVELOPE_500);
    expect(failed.injected.kv).toBe(1);
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
    expect((await postJson("/api/v1/checkout-sessions", body, headers)).status).toBe(200);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("D1 failing while freeing a state Stripe refused: 500, and the repeat gets Stripe's refusal", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState(), price: "price_nope" });
    const failed = await callWithFaults(
      { d1: { sql: /DELETE FROM checkout_sessions/, times: 1 } },
      createRequest(headers, body),
    );
    expect(failed.status).toBe(500);
    const repeat = await postJson("/api/v1/checkout-sessions", body, headers);
    expect(repeat.status).toBe(400);
    expect(repeat.body.error).toMatch(/No such price/);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });
});

describe("concurrency", () => {
  it("50 concurrent identical requests: one Stripe create, one row, 50 identical answers", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail({ kind: "delay", ms: 100 });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => postJson("/api/v1/checkout-sessions", body, headers)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => JSON.stringify(a.body.data))).size).toBe(1);
    expect(stripe.creates()).toHaveLength(1);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("200 concurrent different requests: 200 rows, 200 sessions, 200 distinct hashes", async () => {
    const { app, headers } = await givenWriter();
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        postJson("/api/v1/checkout-sessions", validBody({ state: newState() }), headers),
      ),
    );
    const statuses: Record<number, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    expect(statuses).toEqual({ 200: 200 });
    const rows = await rowsOfApp(app.id);
    expect(rows).toHaveLength(200);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(200);
    expect(new Set(rows.map((r) => r.stripe_session_id)).size).toBe(200);
    expect(stripe.sessions.size).toBe(200);
    expect(rows.every((r) => r.status === "open")).toBe(true);
  });
});
