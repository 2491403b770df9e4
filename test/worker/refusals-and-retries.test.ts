import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/** Issue 12, items 2, 3, 4, 8 and 9: the create path under refusals, outages and time. */

const CREATE = "/api/v1/checkout-sessions";
const NO_SUCH_PRICE = "Stripe refused the checkout session (price): No such price: 'price_nope'";
/** Both SDK attempts (STRIPE_MAX_NETWORK_RETRIES = 1 in the tests) meet the fault. */
const OUTAGE = [
  { kind: "status", status: 503 },
  { kind: "status", status: 503 },
] as const;

const idempotencyKeys = () => stripe.creates().map((r) => r.headers["idempotency-key"]);

interface LeaseRow {
  hash: string;
  status: string;
  lease_expires_at: number;
  created_at: number;
  expires_at: number;
}

async function leaseRows(appId: string): Promise<LeaseRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT hash, status, lease_expires_at, created_at, expires_at FROM checkout_sessions WHERE app_id = ?1",
  )
    .bind(appId)
    .all<LeaseRow>();
  return results;
}

describe("concurrent identical requests that Stripe refuses", () => {
  it("answer every one of 20 rounds of 12 with Stripe's refusal: no 500, no 409", async () => {
    const { app, headers } = await givenWriter();
    const statuses: Record<string, number> = {};
    for (let round = 0; round < 20; round++) {
      // The owner's Stripe call takes a moment, so the others arrive while it is in flight.
      stripe.fail({ kind: "delay", ms: 30 });
      const body = validBody({ state: newState(), price: "price_nope" });
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => postJson(CREATE, body, headers)),
      );
      for (const answer of answers) {
        const key = `${answer.status} ${answer.body.error}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
    }
    expect(statuses).toEqual({ [`400 ${NO_SUCH_PRICE}`]: 240 });
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("have the waiters answer with the owner's kept refusal instead of calling Stripe again", async () => {
    const { headers } = await givenWriter();
    stripe.fail({ kind: "delay", ms: 300 });
    const body = validBody({ state: newState(), price: "price_nope" });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => postJson(CREATE, body, headers)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(400));
    expect(new Set(answers.map((a) => a.body.error))).toEqual(new Set([NO_SUCH_PRICE]));
    expect(stripe.creates()).toHaveLength(1);
  });
});

describe("one Idempotency-Key never carries two parameter sets", () => {
  it("sends a repeat after a refusal under a new key, so Stripe executes it afresh", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState(), price: "price_later" });
    const refused = await postJson(CREATE, body, headers);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe(
      "Stripe refused the checkout session (price): No such price: 'price_later'",
    );

    // The price now exists; the same request again (a new reservation: new hash, new expiry).
    stripe.prices.price_later = { currency: "eur", recurring: false };
    const repeat = await postJson(CREATE, body, headers);
    expect(repeat.status).toBe(200);
    const [first, second] = stripe.creates();
    expect(first?.form["metadata[checkout_hash]"]).not.toBe(
      second?.form["metadata[checkout_hash]"],
    );
    expect(new Set(idempotencyKeys()).size).toBe(2);
    expect(await rowsOfApp(app.id)).toMatchObject([{ status: "open" }]);
  });
});

describe("the retry that a 502/503/504 recommends", () => {
  it("is served at once: the failed attempt releases its lease on the state", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail(...OUTAGE);
    const failed = await postJson(CREATE, body, headers);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe(
      "Stripe is unavailable; retry the same request (same state) later",
    );
    const [pending] = await leaseRows(app.id);
    expect(pending).toMatchObject({ status: "pending", lease_expires_at: 0 });

    const started = Date.now();
    const retried = await postJson(CREATE, body, headers);
    const elapsedMs = Date.now() - started;
    expect(retried.status).toBe(200);
    // The lease in these tests lasts 4 s (1 s timeout × 2 attempts + 2 s); a retry that had to
    // wait for it would take that long.
    expect(elapsedMs).toBeLessThan(2_000);
    // Stripe answered the 503s, and an answer given after execution began is saved under its
    // key: the retry goes out under a new one (a new reservation), with the same order.
    const keys = idempotencyKeys();
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe(keys[1]); // the SDK's own retry of the first attempt
    expect(keys[2]).not.toBe(keys[0]);
    const sent = stripe.creates().map((r) => r.form);
    const order = (form: Record<string, string> = {}) =>
      JSON.stringify(
        Object.entries(form).filter(
          ([name]) => name !== "expires_at" && !name.endsWith("[checkout_hash]"),
        ),
      );
    expect(order(sent[2])).toBe(order(sent[0]));
    expect(await leaseRows(app.id)).toMatchObject([{ status: "open", hash: pending?.hash }]);
  });

  it("after a 500 that Stripe answered (and saved under the key), retries under a new key", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    // Stripe began executing, failed, and keeps that 500 for every retry with the key.
    stripe.fail({ kind: "saved" });
    const failed = await postJson(CREATE, body, headers);
    expect(failed.status).toBe(502);
    expect(failed.body.error).toBe(
      "Stripe failed to create the checkout session; retry the same request (same state)",
    );
    expect(await leaseRows(app.id)).toMatchObject([{ status: "pending", lease_expires_at: 0 }]);
    // The SDK did not retry it (Stripe-Should-Retry: false): one request, one key.
    expect(idempotencyKeys()).toHaveLength(1);

    const retried = await postJson(CREATE, body, headers);
    expect(retried.status).toBe(200);
    // A new reservation (hash, expiry), hence a new key: the saved 500 is not met again.
    const keys = idempotencyKeys();
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
    const [renewed] = await leaseRows(app.id);
    expect(renewed).toMatchObject({ status: "open" });
    const sentHashes = stripe.creates().map((r) => r.form["metadata[checkout_hash]"]);
    expect(sentHashes[1]).toBe(renewed?.hash);
    expect(sentHashes[0]).not.toBe(renewed?.hash);
    // The session the failed call may have made is nobody's: no row points at it.
    const id = (retried.body.data as { checkout: { id: string } }).checkout.id;
    expect(stripe.sessions.size).toBe(2);
    expect((await rowsOfApp(app.id)).map((r) => r.stripe_session_id)).toEqual([id]);
  });

  it("after a timeout, reaches the session that Stripe made meanwhile, without waiting", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail({ kind: "timeout", afterCreate: true }, { kind: "timeout", afterCreate: true });
    expect((await postJson(CREATE, body, headers)).status).toBe(504);
    const [made] = [...stripe.sessions.keys()];

    const started = Date.now();
    const retried = await postJson(CREATE, body, headers);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(retried.status).toBe(200);
    expect((retried.body.data as { checkout: { id: string } }).checkout.id).toBe(made);
    expect(stripe.sessions.size).toBe(1);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });
});

describe("no 200 without a session", () => {
  it("answers a state whose reservation expired before Stripe confirmed it with 410, calling Stripe no more", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail(...OUTAGE);
    expect((await postJson(CREATE, body, headers)).status).toBe(503);
    // Its expiry passes and the cron marks it expired, never having had a session.
    await env.DB.prepare(
      "UPDATE checkout_sessions SET expires_at = expires_at - 7200 WHERE app_id = ?1",
    )
      .bind(app.id)
      .run();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" }),
      env,
    );
    expect(await rowsOfApp(app.id)).toMatchObject([{ status: "expired", stripe_session_id: null }]);

    stripe.requests.length = 0;
    const repeat = await postJson(CREATE, body, headers);
    expect(repeat.status).toBe(410);
    expect(repeat.body).toEqual({
      success: false,
      message: null,
      data: null,
      error:
        "The checkout of this state expired before Stripe confirmed it; use a new state for a new checkout",
    });
    expect(stripe.requests).toEqual([]);
  });
});

describe("an expiry that Stripe accepts on every retry", () => {
  it("renews a pending reservation too close to its expiry instead of sending it again", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail(...OUTAGE);
    expect((await postJson(CREATE, body, headers)).status).toBe(503);
    const [before] = await leaseRows(app.id);
    // Forty minutes later: 20 of its 60 minutes are left, less than Stripe's 30.
    await env.DB.prepare(
      "UPDATE checkout_sessions SET created_at = created_at - 2400, updated_at = updated_at - 2400, expires_at = expires_at - 2400 WHERE app_id = ?1",
    )
      .bind(app.id)
      .run();

    const now = Math.floor(Date.now() / 1000);
    const retried = await postJson(CREATE, body, headers);
    expect(retried.status).toBe(200);
    const sent = stripe.creates().at(-1);
    expect(Number(sent?.form.expires_at)).toBeGreaterThanOrEqual(now + 60 * 60);
    const [after] = await leaseRows(app.id);
    expect(after?.hash).not.toBe(before?.hash);
    expect(sent?.form["metadata[checkout_hash]"]).toBe(after?.hash);
    expect((retried.body.data as { checkout: { hash: string } }).checkout.hash).toBe(after?.hash);
    expect(new Set(idempotencyKeys()).size).toBe(2);
  });

  it("keeps a session made by the abandoned reservation from touching the renewed one", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail({ kind: "timeout", afterCreate: true }, { kind: "timeout", afterCreate: true });
    expect((await postJson(CREATE, body, headers)).status).toBe(504);
    const [orphan] = [...stripe.sessions.keys()];
    await env.DB.prepare(
      "UPDATE checkout_sessions SET expires_at = expires_at - 2400 WHERE app_id = ?1",
    )
      .bind(app.id)
      .run();
    const renewed = await postJson(CREATE, body, headers);
    expect(renewed.status).toBe(200);
    const { id } = (renewed.body.data as { checkout: { id: string } }).checkout;
    expect(id).not.toBe(orphan);

    // The abandoned session (whose URL nobody ever got) expires; the renewed checkout stays open.
    const expired = stripe.expireSession(orphan ?? "");
    expect((await deliver(expired)).body).toMatchObject({ data: { outcome: "unmatched" } });
    expect(await rowsOfApp(app.id)).toMatchObject([{ status: "open", stripe_session_id: id }]);
  });
});
