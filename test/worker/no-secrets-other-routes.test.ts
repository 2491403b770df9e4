import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { givenWriter } from "./helpers/apps.ts";
import {
  CREATE,
  captured,
  captureEachTest,
  created,
  expectLogsAndNoLeaks,
  isRequestLine,
  requestLine,
  send,
} from "./helpers/exchanges.ts";
import { apiKey, findLeaks, secret, secretState } from "./helpers/leaks.ts";
import { stripe } from "./helpers/stripe.ts";
import {
  deliver,
  sessionEvent,
  WEBHOOK_SECRET_CONNECT_LIVE,
  WEBHOOK_SECRET_CONNECT_TEST,
  WEBHOOK_SECRET_LIVE,
  WEBHOOK_SECRET_TEST,
} from "./helpers/webhooks.ts";

/**
 * No secret in the logs or answers of the routes without API credentials of their own: the
 * payment page, Stripe's webhook deliveries, health, documentation, and routes that do not exist.
 */

const cryptoProvider = Stripe.createSubtleCryptoProvider();

captureEachTest();

describe("no secret in logs or responses", () => {
  it("the payment page with the right, a wrong and no state", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const checkout = await created(key.headers, app.id);
    const other = await secretState("other state");
    const page = (query: string, method = "GET") =>
      send(`/checkout/${checkout.hash}${query}`, { method, appId: null });

    const opened = await page(`?state=${checkout.state}`);
    expect(opened.status).toBe(303);
    expect((await page(`?state=${checkout.state}`)).status).toBe(303);
    expect((await page(`?state=${other}`)).status).toBe(404);
    expect((await page("")).status).toBe(403);
    expect((await page(`?state=${checkout.state.slice(1)}`)).status).toBe(403);
    expect((await page(`?state=${checkout.state}`, "POST")).status).toBe(405);
    expect(
      (await send(`/checkout/${"A".repeat(32)}?state=${checkout.state}`, { appId: null })).status,
    ).toBe(404);
    expectLogsAndNoLeaks();
  });

  it("webhook deliveries: valid, replayed, live, connected accounts', badly signed, unsigned", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const checkout = await created(key.headers, app.id);
    const event = sessionEvent("checkout.session.completed", {
      id: checkout.id,
      status: "complete",
      payment_status: "paid",
      customer: stripe.addCustomer(false),
      payment_intent: "pi_123",
      metadata: { checkout_hash: checkout.hash },
    });
    const payload = JSON.stringify(event);
    const sign = async (secretValue: string, body = payload) => {
      const header = await Stripe.webhooks.generateTestHeaderStringAsync({
        payload: body,
        secret: secretValue,
        timestamp: Math.floor(Date.now() / 1000),
        cryptoProvider,
      });
      secret("Stripe-Signature", header, 0);
      const v1 = /v1=([0-9a-f]+)/.exec(header)?.[1];
      if (v1) secret("Stripe-Signature v1", v1, 0);
      return header;
    };
    const post = (signature: string | null, body = payload) =>
      send("/api/v1/webhooks/stripe", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(signature === null ? {} : { "Stripe-Signature": signature }),
        },
        body,
        appId: null,
      });

    expect((await post(await sign(WEBHOOK_SECRET_TEST))).status).toBe(200);
    expect((await post(await sign(WEBHOOK_SECRET_TEST))).status).toBe(200);
    const liveEvent = JSON.stringify(
      sessionEvent("checkout.session.expired", { id: "cs_live_x" }, { livemode: true }),
    );
    expect((await post(await sign(WEBHOOK_SECRET_LIVE, liveEvent), liveEvent)).status).toBe(200);
    for (const [livemode, connectSecret, accountSecret] of [
      [false, WEBHOOK_SECRET_CONNECT_TEST, WEBHOOK_SECRET_TEST],
      [true, WEBHOOK_SECRET_CONNECT_LIVE, WEBHOOK_SECRET_LIVE],
    ] as const) {
      const connected = JSON.stringify(
        sessionEvent("checkout.session.expired", { id: "cs_x" }, { livemode, account: "acct_x" }),
      );
      expect((await post(await sign(connectSecret, connected), connected)).status).toBe(200);
      expect((await post(await sign(accountSecret, connected), connected)).status).toBe(400);
    }
    const wrongSecret = secret("wrong webhook secret", "whsec_not_the_right_one_42", "whsec_");
    expect((await post(await sign(wrongSecret))).status).toBe(400);
    const signed = await sign(WEBHOOK_SECRET_TEST);
    expect((await post(signed, payload.replace("paid", "unpaid"))).status).toBe(400);
    expect((await post(null)).status).toBe(400);
    expect((await post("t=1,v1=deadbeef")).status).toBe(400);

    // The suite's own helper, too: one log line each (with a generated id), nothing leaked.
    const before = captured.length;
    const valid = await deliver(event, { signature: await sign(WEBHOOK_SECRET_TEST) });
    expect(valid.status).toBe(200);
    const bad = await deliver(event, { signature: await sign(wrongSecret) });
    expect(bad.status).toBe(400);
    const helperLines = captured.slice(before).filter(isRequestLine);
    expect(helperLines).toHaveLength(2);
    for (const [i, status] of [200, 400].entries()) {
      const line = requestLine(helperLines[i] ?? "");
      expect(line).toMatchObject({ method: "POST", route: "/api/v1/webhooks/stripe", status });
      expect(typeof line.requestId).toBe("string");
      expect(typeof line.durationMs).toBe("number");
      expect(line.appId).toBeNull();
    }
    for (const b of [valid.body, bad.body]) {
      expect(findLeaks("helper response", JSON.stringify(b))).toEqual([]);
    }
    expectLogsAndNoLeaks(2);
  });

  it("404, 405, health and documentation routes, with credentials attached", async () => {
    const { key } = await givenWriter();
    await apiKey("write key", key.key);
    const state = await secretState();
    expect((await send("/api/v1/nothing-here", { headers: key.headers })).status).toBe(404);
    expect((await send(`/nothing?state=${state}`, { headers: key.headers })).status).toBe(404);
    expect((await send(CREATE, { headers: key.headers })).status).toBe(405);
    expect(
      (await send(`/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`, { method: "PUT" }))
        .status,
    ).toBe(405);
    expect(
      (await send("/api/v1/webhooks/stripe", { headers: { "Stripe-Signature": state } })).status,
    ).toBe(405);
    expect((await send("/healthz", { headers: key.headers, appId: null })).status).toBe(200);
    expect((await send("/healthz", { method: "DELETE", appId: null })).status).toBe(405);
    // A request id that is not sane is replaced, and the replacement is logged.
    const odd = await send("/healthz", {
      headers: { "X-Request-Id": `${key.key}!` },
      requestId: null,
    });
    expect(odd.status).toBe(200);
    // The API's documentation (public): credentials sent along change nothing.
    for (const path of ["/openapi.json", "/docs"]) {
      const res = await send(path, { headers: key.headers, appId: null });
      expect([200, 404], path).toContain(res.status);
    }
    expectLogsAndNoLeaks();
  });
});
