import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const CREATE = "/api/v1/checkout-sessions";

describe("idempotency by state", () => {
  it("returns the same checkout for the same request, without a second Stripe call", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    const first = await postJson(CREATE, body, headers);
    const second = await postJson(CREATE, body, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual(first.body.data);
    expect(stripe.creates()).toHaveLength(1);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("answers the same state with different parameters with 409, leaving the first checkout alone", async () => {
    const { app, headers } = await givenWriter();
    const state = newState();
    const first = await postJson(CREATE, validBody({ state }), headers);
    const second = await postJson(CREATE, validBody({ state, quantity: 2 }), headers);
    expect(second.status).toBe(409);
    expect(second.body.error).toBe(
      "This state was already used with different parameters; use a new state for a new checkout",
    );
    expect(stripe.creates()).toHaveLength(1);
    const rows = await rowsOfApp(app.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      quantity: 1,
      stripe_session_id: (first.body.data as { checkout: { id: string } }).checkout.id,
    });
  });

  it("treats the same state on the tenant route, for another tenant, as different parameters", async () => {
    const { headers } = await givenWriter();
    const body = validBody({ state: newState() });
    expect(
      (await postJson(`/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`, body, headers))
        .status,
    ).toBe(200);
    expect(
      (await postJson(`/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`, body, headers))
        .status,
    ).toBe(409);
  });

  it("keeps states apart per app and per mode", async () => {
    const one = await givenWriter({ liveEnabled: true });
    const two = await givenWriter();
    const state = newState();
    expect((await postJson(CREATE, validBody({ state }), one.headers)).status).toBe(200);
    expect((await postJson(CREATE, validBody({ state, test: false }), one.headers)).status).toBe(
      200,
    );
    expect((await postJson(CREATE, validBody({ state }), two.headers)).status).toBe(200);
    expect(stripe.creates()).toHaveLength(3);
    expect(new Set(stripe.creates().map((r) => r.headers["idempotency-key"])).size).toBe(3);
  });

  it("creates one Stripe session and one row for concurrent duplicates, and answers all of them alike", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail({ kind: "delay", ms: 50 });
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => postJson(CREATE, body, headers)),
    );
    for (const answer of answers) expect(answer.status).toBe(200);
    const checkouts = answers.map((a) => JSON.stringify(a.body.data));
    expect(new Set(checkouts).size).toBe(1);
    expect(stripe.sessions.size).toBe(1);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
    // The duplicates waited for the first request instead of calling Stripe themselves.
    expect(stripe.creates()).toHaveLength(1);
  });

  it("reaches the same Stripe session when a retry follows a timeout that Stripe had already acted on", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail({ kind: "timeout", afterCreate: true }, { kind: "timeout", afterCreate: true });
    const failed = await postJson(CREATE, body, headers);
    expect(failed.status).toBe(504);
    expect(stripe.sessions.size).toBe(1);
    const [pending] = await rowsOfApp(app.id);
    expect(pending).toMatchObject({ status: "pending", stripe_session_id: null });

    const retried = await postJson(CREATE, body, headers);
    expect(retried.status).toBe(200);
    const [sessionId] = [...stripe.sessions.keys()];
    expect(
      (retried.body.data as { checkout: { id: string; hash: string } }).checkout,
    ).toMatchObject({ id: sessionId, hash: pending?.hash });
    expect(stripe.sessions.size).toBe(1);
    const rows = await rowsOfApp(app.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "open", stripe_session_id: sessionId });
    // The same parameters, expiry included, went out each time under one key.
    const forms = stripe.creates().map((r) => JSON.stringify(r.form));
    expect(new Set(forms).size).toBe(1);
    expect(new Set(stripe.creates().map((r) => r.headers["idempotency-key"])).size).toBe(1);
  });
});
