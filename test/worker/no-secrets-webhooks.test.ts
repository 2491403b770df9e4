import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import {
  captured,
  captureEachTest,
  created,
  expectLogsAndNoLeaks,
  postJson,
  send,
} from "./helpers/exchanges.ts";
import { call } from "./helpers/http.ts";
import { apiKey, findLeaks, secret } from "./helpers/leaks.ts";
import { consume, givenUnsentEvent } from "./helpers/outbound.ts";
import { newReceiver } from "./helpers/receivers.ts";

/**
 * Issue 15: an endpoint's signing secret is shown once, when it is made (or rotated), and never
 * again: not in a log line, not in any other answer, not in a delivery; neither is the key that
 * encrypts it, an API key, or a checkout's state (in the events' bodies).
 */

captureEachTest();

describe("no secret in the outbound webhook routes", () => {
  it("endpoints, events, deliveries and redeliveries", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const read = await givenKey(app.id, "read");
    await apiKey("read key", read.key);
    const receiver = newReceiver();

    // Made with the plain helper: these two answers are the only ones that may carry a secret.
    const made = await call("/api/v1/webhook-endpoints", {
      method: "POST",
      headers: { ...key.headers, "Content-Type": "application/json" },
      body: JSON.stringify({ url: receiver.url, test: true }),
    });
    const endpoint = (made.body.data as { endpoint: { id: string; secret: string } }).endpoint;
    secret("endpoint signing secret", endpoint.secret, "whsec_");
    const rotated = await call(`/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {
      method: "POST",
      headers: key.headers,
    });
    const fresh = (rotated.body.data as { endpoint: { secret: string } }).endpoint.secret;
    secret("rotated signing secret", fresh, "whsec_");

    const checkout = await created(key.headers, app.id);
    const row = await env.DB.prepare("SELECT id FROM checkout_sessions WHERE hash = ?1")
      .bind(checkout.hash)
      .first<{ id: string }>();
    const event = await givenUnsentEvent(row?.id ?? "");
    await consume([{ eventId: event.id, endpointId: endpoint.id, generation: 0 }]);
    expect(receiver.requests).toHaveLength(1);
    for (const request of receiver.requests) {
      expect(findLeaks("delivery", JSON.stringify(request))).toEqual([]);
    }
    const stored = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?1")
      .bind(endpoint.id)
      .first();
    expect(findLeaks("stored endpoint", JSON.stringify(stored))).toEqual([]);

    const appId = app.id;
    expect(
      (await send("/api/v1/webhook-endpoints?test=true", { headers: read.headers, appId })).status,
    ).toBe(200);
    expect(
      (await send(`/api/v1/webhook-endpoints/${endpoint.id}`, { headers: key.headers, appId }))
        .status,
    ).toBe(200);
    expect(
      (
        await send(`/api/v1/webhook-endpoints/${endpoint.id}`, {
          method: "PATCH",
          headers: { ...key.headers, "Content-Type": "application/json" },
          body: JSON.stringify({ description: "rotated" }),
          appId,
        })
      ).status,
    ).toBe(200);
    expect(
      (await send("/api/v1/webhook-events?test=true", { headers: read.headers, appId })).status,
    ).toBe(200);
    expect(
      (
        await send(`/api/v1/webhook-deliveries?endpointId=${endpoint.id}`, {
          headers: read.headers,
          appId,
        })
      ).status,
    ).toBe(200);
    expect(
      (await postJson(`/api/v1/webhook-events/${event.id}/redeliver`, {}, key.headers, appId))
        .status,
    ).toBe(202);
    expect(
      (
        await postJson(
          "/api/v1/webhook-endpoints",
          { url: "https://10.0.0.1/x", test: true },
          key.headers,
          appId,
        )
      ).status,
    ).toBe(400);
    expect(captured.some((line) => line.includes("webhook-endpoints"))).toBe(true);
    // The two requests made with the plain helper, and the checkout's, logged one line each.
    expectLogsAndNoLeaks(2);
  });
});
