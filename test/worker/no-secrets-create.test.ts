import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Fault } from "../../stripe-double/double.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import {
  CREATE,
  captured,
  captureEachTest,
  created,
  expectLogsAndNoLeaks,
  json,
  postJson,
  send,
} from "./helpers/exchanges.ts";
import { validBody } from "./helpers/http.ts";
import { apiKey, secretState, token } from "./helpers/leaks.ts";
import { stripe } from "./helpers/stripe.ts";
import { givenTokenApp, newKeyPair, signToken } from "./helpers/tokens.ts";

/**
 * No secret in the logs or answers of the create routes: accepted, replayed, refused by the
 * worker, refused or failed by Stripe, and on the tenant route (the checks: helpers/exchanges.ts).
 */

captureEachTest();

describe("no secret in logs or responses", () => {
  it("creates with a write key: success, replay, validation failures, sofort, setup, 409", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const headers = key.headers;

    const first = await created(headers, app.id);
    // The same request again (idempotent replay), then the same state with other parameters.
    const replay = await postJson(CREATE, validBody({ state: first.state }), headers, app.id);
    expect(replay.status).toBe(200);
    const conflict = await postJson(
      CREATE,
      validBody({ state: first.state, quantity: 2 }),
      headers,
      app.id,
    );
    expect(conflict.status).toBe(409);

    const state = await secretState();
    for (const change of [
      { quantity: 0 },
      { price: "prod_1", allowedCountry: "de" },
      { paymentMethodType: "sofort" },
      { mode: "setup" },
      { currency: "eur" },
      { state: `${state.slice(1)}&` },
      { test: false },
    ]) {
      const res = await postJson(CREATE, validBody({ state, ...change }), headers, app.id);
      expect([400, 403, 409], res.text).toContain(res.status);
    }
    const malformed = await send(CREATE, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: `{"state":"${state}",`,
      appId: app.id,
    });
    expect(malformed.status).toBe(400);
    const wrongType = await send(CREATE, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
      body: JSON.stringify(validBody({ state })),
      appId: app.id,
    });
    expect(wrongType.status).toBe(415);
    const tooLarge = await postJson(
      CREATE,
      validBody({ state, padding: "x".repeat(9000) }),
      headers,
      null,
    );
    expect(tooLarge.status).toBe(400);
    expectLogsAndNoLeaks();
  });

  it("creates that Stripe refuses, fails, or does not answer", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const headers = key.headers;
    const body = async () => validBody({ state: await secretState() });

    const missing = await postJson(
      CREATE,
      { ...(await body()), price: "price_missing" },
      headers,
      app.id,
    );
    expect(missing.status).toBe(400);
    expect(json(missing).error).toMatch(/^Stripe refused/);

    // Each failure on every attempt (the SDK retries once); the queue is emptied in between,
    // since not every failure is retried.
    const failures: [Fault[], number][] = [
      [
        [
          { kind: "status", status: 500 },
          { kind: "status", status: 500 },
        ],
        502,
      ],
      [[{ kind: "timeout" }, { kind: "timeout" }], 504],
      [[{ kind: "network" }, { kind: "network" }], 502],
      [[{ kind: "garbage" }, { kind: "garbage" }], 502],
      [[{ kind: "status", status: 429 }], 503],
      [
        [
          { kind: "status", status: 503 },
          { kind: "status", status: 503 },
        ],
        503,
      ],
      [[{ kind: "status", status: 401, type: "invalid_request_error" }], 502],
      [[{ kind: "status", status: 403, type: "invalid_request_error" }], 502],
    ];
    for (const [faults, status] of failures) {
      stripe.reset();
      stripe.fail(...faults);
      const res = await postJson(CREATE, await body(), headers, app.id);
      expect(res.status, JSON.stringify(faults)).toBe(status);
    }

    // Stripe refusing the service's key names it the way Stripe does (masked): the worker's
    // answer and log must not carry even that part of it.
    const realHandle = stripe.handle.bind(stripe);
    const testKey = env.STRIPE_SECRET_KEY_TEST ?? "";
    const masked = `${testKey.slice(0, 8)}${"*".repeat(Math.max(0, testKey.length - 12))}${testKey.slice(-4)}`;
    vi.spyOn(stripe, "handle").mockImplementation(async (request: Request) => {
      if (new URL(request.url).pathname !== "/v1/checkout/sessions") return realHandle(request);
      return new Response(
        JSON.stringify({
          error: {
            type: "invalid_request_error",
            message: `Invalid API Key provided: ${masked}`,
          },
        }),
        { status: 401, headers: { "Content-Type": "application/json" } },
      );
    });
    expect((await postJson(CREATE, await body(), headers, app.id)).status).toBe(502);
    expectLogsAndNoLeaks();
    // The leak detector looks for the key and long pieces of it, which the masked form is not.
    expect(captured.join("\n")).not.toContain(masked);
  });

  it("the tenant route: write key, read key, token, malformed tenant id", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const reader = await givenKey(app.id, "read");
    await apiKey("read key", reader.key);
    const keys = await newKeyPair();
    const tokenApp = await givenTokenApp(keys);
    const bearer = token("token", await signToken(keys, tokenApp));
    const tenantPath = `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`;

    await created(key.headers, app.id, tenantPath);
    const state = await secretState();
    // Refused before the app is put on the request: the log line's appId is not checked.
    const byReader = await postJson(tenantPath, validBody({ state }), reader.headers, undefined);
    expect(byReader.status).toBe(403);
    const byToken = await postJson(
      tenantPath,
      validBody({ state }),
      { Authorization: `Bearer ${bearer}` },
      null,
    );
    expect(byToken.status).toBe(403);
    const badTenant = await postJson(
      "/api/v1/tenants/not-a-uuid/checkout-sessions",
      validBody({ state }),
      key.headers,
      app.id,
    );
    expect(badTenant.status).toBe(400);
    expectLogsAndNoLeaks();
  });
});
