import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { URL_400 } from "../../src/openapi/operations/webhook-endpoints.ts";
import { MAX_ENDPOINTS } from "../../src/outbound/endpoints.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import { type CallResult, call, postJson } from "./helpers/http.ts";
import { expectDocumentedFailure, type Method, operation } from "./helpers/openapi.ts";
import {
  DELIVERIES,
  ENDPOINT,
  ENDPOINTS,
  EVENTS,
  json,
  paidCheckout,
  REDELIVER,
  ROTATE,
  registered,
} from "./helpers/openapi-webhooks.ts";
import { newReceiver } from "./helpers/receivers.ts";

/**
 * The outbound webhook routes' failures are the document's: each answers a status its
 * operation documents, with one of that status's example texts (MESSAGES, URL_REFUSALS).
 */

describe("the webhook routes answer failures as documented", () => {
  it("refuses credentials, methods, ids, queries and bodies with the documented texts", async () => {
    const { app, headers } = await givenWriter();
    const reader = (await givenKey(app.id, "read")).headers;
    const unknownEndpoint = `${ENDPOINTS}/we_${"0".repeat(24)}`;
    const unknownEvent = `${EVENTS}/evt_${"0".repeat(32)}/redeliver`;
    const body = { url: "https://hooks.example.com/checkout-edge", test: true };
    const failures: [Method, string, string, RequestInit, number][] = [
      ["get", ENDPOINTS, ENDPOINTS, {}, 401],
      ["get", ENDPOINTS, ENDPOINTS, { headers: { Authorization: "Bearer x.y.z" } }, 403],
      ["get", EVENTS, EVENTS, { headers: { ...reader, Origin: "https://app.example.com" } }, 403],
      ["post", ENDPOINTS, ENDPOINTS, json("POST", body, reader), 403],
      ["post", ENDPOINTS, ENDPOINTS, json("POST", { url: body.url }, headers), 403],
      ["post", ENDPOINTS, ENDPOINTS, json("POST", { ...body, secret: "x" }, headers), 400],
      ["post", ENDPOINTS, ENDPOINTS, json("POST", { test: true }, headers), 400],
      [
        "post",
        ENDPOINTS,
        ENDPOINTS,
        json("POST", { ...body, url: `${body.url}/${"a".repeat(2048)}` }, headers),
        400,
      ],
      ["post", ENDPOINTS, ENDPOINTS, json("POST", { ...body, eventTypes: [] }, headers), 400],
      [
        "post",
        ENDPOINTS,
        ENDPOINTS,
        json("POST", { ...body, eventTypes: ["invoice.paid", "invoice.paid"] }, headers),
        400,
      ],
      [
        "post",
        ENDPOINTS,
        ENDPOINTS,
        { method: "POST", headers: { ...headers, "Content-Type": "text/xml" }, body: "<x/>" },
        415,
      ],
      ["post", ENDPOINTS, ENDPOINTS, { method: "POST", headers, body: "{" }, 400],
      ["get", ENDPOINTS, `${ENDPOINTS}?test=yes`, { headers }, 400],
      ["get", ENDPOINTS, `${ENDPOINTS}?mode=test`, { headers }, 400],
      ["get", ENDPOINTS, ENDPOINTS, { method: "PUT", headers }, 405],
      ["get", ENDPOINT, `${ENDPOINTS}/nope`, { headers }, 400],
      ["get", ENDPOINT, unknownEndpoint, { headers: reader }, 404],
      ["get", ENDPOINT, unknownEndpoint, { method: "PUT", headers }, 405],
      ["patch", ENDPOINT, unknownEndpoint, json("PATCH", { enabled: false }, reader), 403],
      ["patch", ENDPOINT, unknownEndpoint, json("PATCH", { enabled: false }, headers), 404],
      ["patch", ENDPOINT, unknownEndpoint, json("PATCH", {}, headers), 400],
      ["patch", ENDPOINT, unknownEndpoint, json("PATCH", { test: false }, headers), 400],
      ["patch", ENDPOINT, unknownEndpoint, json("PATCH", { enabled: "no" }, headers), 400],
      ["delete", ENDPOINT, unknownEndpoint, { method: "DELETE", headers }, 404],
      ["post", ROTATE, `${unknownEndpoint}/rotate-secret`, { method: "POST", headers }, 404],
      ["post", ROTATE, `${unknownEndpoint}/rotate-secret`, { headers }, 405],
      ["get", EVENTS, `${EVENTS}?since=yesterday`, { headers }, 400],
      ["get", EVENTS, `${EVENTS}?type=checkout.paid`, { headers }, 400],
      ["get", EVENTS, `${EVENTS}?limit=ten`, { headers }, 400],
      ["get", EVENTS, `${EVENTS}?limit=500`, { headers }, 400],
      ["get", EVENTS, `${EVENTS}?cursor=zz`, { headers }, 400],
      ["get", EVENTS, `${EVENTS}?endpointId=x`, { headers }, 400],
      ["get", EVENTS, EVENTS, { method: "POST", headers }, 405],
      ["get", DELIVERIES, DELIVERIES, { headers }, 400],
      ["get", DELIVERIES, `${DELIVERIES}?eventId=evt_1`, { headers }, 400],
      ["get", DELIVERIES, `${DELIVERIES}?endpointId=we_1`, { headers }, 400],
      [
        "get",
        DELIVERIES,
        `${DELIVERIES}?eventId=evt_${"0".repeat(32)}&test=true`,
        { headers },
        400,
      ],
      ["get", DELIVERIES, DELIVERIES, { method: "POST", headers }, 405],
      ["post", REDELIVER, `${EVENTS}/nope/redeliver`, { method: "POST", headers }, 400],
      ["post", REDELIVER, unknownEvent, { method: "POST", headers }, 404],
      ["post", REDELIVER, unknownEvent, json("POST", { endpointId: "we_1" }, headers), 400],
      ["post", REDELIVER, unknownEvent, json("POST", { eventTypes: [] }, headers), 400],
      ["post", REDELIVER, unknownEvent, { headers }, 405],
    ];
    for (const [method, template, path, init, status] of failures) {
      const res = await call(path, init);
      expect(res.status, `${init.method ?? "GET"} ${path}: ${res.body.error}`).toBe(status);
      await expectDocumentedFailure(method, template, res);
      if (status === 405) {
        const allowed = operation(method, template).responses["405"]?.description ?? "";
        expect(allowed).toContain(`Allow: ${res.response.headers.get("Allow")}`);
      }
    }
  });

  it("refuses each kind of URL with its documented text, at registration and on a change", async () => {
    const { headers } = await givenWriter();
    const endpoint = await registered(headers, {
      url: newReceiver().url,
      test: true,
      eventTypes: ["invoice.paid"],
    });
    const samples: Record<keyof typeof URL_400, string> = {
      notAbsolute: "hooks.example.com/checkout-edge",
      notHttps: "http://hooks.example.com/checkout-edge",
      credentials: "https://user:secret@hooks.example.com/checkout-edge",
      fragment: "https://hooks.example.com/checkout-edge#events",
      port: "https://hooks.example.com:8443/checkout-edge",
      ipLiteral: "https://203.0.113.7/checkout-edge",
      privateHost: "https://hooks.internal/checkout-edge",
    };
    expect(Object.keys(samples).sort()).toEqual(Object.keys(URL_400).sort());
    for (const [kind, url] of Object.entries(samples) as [keyof typeof URL_400, string][]) {
      const create = await postJson(ENDPOINTS, { url, test: true }, headers);
      expect(create.body.error, kind).toBe(URL_400[kind]?.[1]);
      await expectDocumentedFailure("post", ENDPOINTS, create);
      const change = await call(`${ENDPOINTS}/${endpoint.id}`, json("PATCH", { url }, headers));
      expect(change.body.error, kind).toBe(URL_400[kind]?.[1]);
      await expectDocumentedFailure("patch", ENDPOINT, change);
    }
  });

  it("answers 409 for the endpoint limit and for each redelivery with nowhere to go", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const event = await paidCheckout(headers);
    const path = `${EVENTS}/${event.id}/redeliver`;
    const none = await call(path, { method: "POST", headers });
    expect(none.status).toBe(409);
    await expectDocumentedFailure("post", REDELIVER, none);

    const disabled = await registered(headers, { url: newReceiver().url, test: true });
    await call(`${ENDPOINTS}/${disabled.id}`, json("PATCH", { enabled: false }, headers));
    const billing = await registered(headers, {
      url: newReceiver().url,
      test: true,
      eventTypes: ["invoice.paid"],
    });
    const live = await registered(headers, { url: newReceiver().url });
    for (const target of [disabled, billing, live]) {
      const res = await call(path, json("POST", { endpointId: target.id }, headers));
      expect(res.status, res.body.error ?? "").toBe(409);
      await expectDocumentedFailure("post", REDELIVER, res);
    }
    // Every endpoint of the event's mode is disabled or skips its type: nowhere to send it.
    const again = await call(path, { method: "POST", headers });
    expect(again.status, again.body.error ?? "").toBe(409);
    await expectDocumentedFailure("post", REDELIVER, again);

    const full = await givenWriter();
    for (let i = 0; i < MAX_ENDPOINTS; i += 1) {
      await registered(full.headers, { url: newReceiver().url, test: true });
    }
    const over = await postJson(ENDPOINTS, { url: newReceiver().url, test: true }, full.headers);
    expect(over.status).toBe(409);
    await expectDocumentedFailure("post", ENDPOINTS, over);
  });

  it("names a missing encryption key where secrets are made (500)", async () => {
    const { headers } = await givenWriter();
    const bindings = { ...env, WEBHOOK_ENCRYPTION_KEY: "" } as Bindings;
    const request = new Request(`https://pay.example.test${ENDPOINTS}`, {
      ...json("POST", { url: "https://hooks.example.com/checkout-edge", test: true }, headers),
    });
    const response = await worker.fetch(
      request as Request<unknown, IncomingRequestCfProperties>,
      bindings,
      createExecutionContext(),
    );
    const body = (await response.json()) as CallResult["body"];
    expect(response.status).toBe(500);
    await expectDocumentedFailure("post", ENDPOINTS, { response, status: 500, body });
  });
});
