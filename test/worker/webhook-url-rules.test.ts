import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { URL_REFUSALS } from "../../src/messages.ts";
import { checkEndpointUrl } from "../../src/outbound/url-rules.ts";
import { givenWriter } from "./helpers/apps.ts";
import { call, postJson } from "./helpers/http.ts";
import {
  attemptRows,
  consume,
  givenCheckoutRow,
  givenEndpoint,
  givenUnsentEvent,
} from "./helpers/outbound.ts";
import { newReceiver } from "./helpers/receivers.ts";

/** Issue 15, item 1: the no-SSRF rules themselves, including local development's loopback. */

const ENDPOINTS = "/api/v1/webhook-endpoints";
const live = { livemode: true, allowLoopback: true };
const localTest = { livemode: false, allowLoopback: true };
const deployedTest = { livemode: false, allowLoopback: false };

const reason = (url: string, rules = deployedTest) => {
  const verdict = checkEndpointUrl(url, rules);
  return verdict.ok ? "ok" : verdict.reason;
};

describe("checkEndpointUrl", () => {
  it("takes https URLs on public host names, with paths and queries, and normalises them", () => {
    for (const url of [
      "https://hooks.example.com/checkout-edge",
      "https://api.acme.co.uk/v1/hooks?source=checkout-edge",
      "https://HOOKS.Example.com:443/x",
      "https://xn--bcher-kva.com/x",
    ]) {
      expect(reason(url), url).toBe("ok");
    }
    const verdict = checkEndpointUrl("https://HOOKS.Example.com:443/x", deployedTest);
    expect(verdict.ok && verdict.url.href).toBe("https://hooks.example.com/x");
  });

  it("takes http on a loopback host only in local development and only for test mode", () => {
    for (const url of [
      "http://127.0.0.1:8789/webhooks",
      "http://localhost:3000/x",
      "http://[::1]:9/x",
    ]) {
      expect(reason(url, localTest), url).toBe("ok");
      expect(reason(url, live), url).toBe(URL_REFUSALS.privateHost);
      expect(reason(url, deployedTest), url).toBe(URL_REFUSALS.privateHost);
    }
  });

  it.each([
    ["https://127.1/x", URL_REFUSALS.privateHost],
    ["https://0177.0.0.1/x", URL_REFUSALS.privateHost],
    ["https://192.168.1.10/x", URL_REFUSALS.ipLiteral],
    ["https://100.64.0.1/x", URL_REFUSALS.ipLiteral],
    ["https://0.0.0.0/x", URL_REFUSALS.ipLiteral],
    ["https://[::ffff:127.0.0.1]/x", URL_REFUSALS.ipLiteral],
    ["https://[fe80::1]/x", URL_REFUSALS.ipLiteral],
    ["https://metadata.google.internal/x", URL_REFUSALS.privateHost],
    ["https://host.docker.internal/x", URL_REFUSALS.privateHost],
    ["https://nas.lan/x", URL_REFUSALS.privateHost],
    ["https://x.localtest.me/x", URL_REFUSALS.privateHost],
    ["https://app.lvh.me/x", URL_REFUSALS.privateHost],
    ["https://hooks.example.com.:8080/x", URL_REFUSALS.port],
    ["https://hooks.example.com:80/x", URL_REFUSALS.port],
    ["javascript:alert(1)", URL_REFUSALS.notHttps],
    ["https://hooks.example.com/x#", URL_REFUSALS.fragment],
  ])("refuses %s", (url, expected) => {
    expect(reason(url)).toBe(expected);
    expect(reason(url, live)).toBe(expected);
  });
});

/**
 * Issue 19, B11b: a host name may end in any number of dots, and URL parsing keeps them all
 * (`localhost..`); the rules read the name without them, when registered and at delivery.
 */
describe("host names with trailing dots", () => {
  const DOTTED = [
    ["https://localhost../", URL_REFUSALS.privateHost],
    ["https://localhost.../x", URL_REFUSALS.privateHost],
    ["https://metadata.google.internal../", URL_REFUSALS.privateHost],
    ["https://db.internal.../x", URL_REFUSALS.privateHost],
    ["https://127.0.0.1.nip.io../x", URL_REFUSALS.privateHost],
    ["https://intranet../x", URL_REFUSALS.privateHost],
  ] as const;

  it.each(DOTTED)("refuses %s by the rules", (url, expected) => {
    expect(reason(url)).toBe(expected);
    expect(reason(url, live)).toBe(expected);
    // In local development too, the verdict is the undotted name's (loopback only there).
    expect(reason(url, localTest)).toBe(reason(url.replace(/\.+(?=\/)/, ""), localTest));
  });

  it("still takes a public name written with its root dot", () => {
    expect(reason("https://hooks.example.com./x")).toBe("ok");
  });

  it("refuses them when an endpoint is registered or changed, and stores nothing", async () => {
    const { app, headers } = await givenWriter();
    const { id } = await givenEndpoint(headers);
    for (const [url, expected] of DOTTED) {
      const created = await postJson(ENDPOINTS, { url, test: true }, headers);
      expect(created.status, url).toBe(400);
      expect(created.body.error, url).toBe(expected);
      const changed = await call(`${ENDPOINTS}/${id}`, {
        method: "PATCH",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ url }),
      });
      expect(changed.status, url).toBe(400);
      expect(changed.body.error, url).toBe(expected);
    }
    const { results } = await env.DB.prepare(
      "SELECT id, url FROM webhook_endpoints WHERE app_id = ?1",
    )
      .bind(app.id)
      .all<{ id: string; url: string }>();
    expect(results).toHaveLength(1);
    expect(results[0]?.url).not.toContain("..");
  });

  it("refuses them at delivery (a URL stored before the rules read it so), sending nothing", async () => {
    const { app, headers } = await givenWriter();
    const receiver = newReceiver();
    const endpoint = await givenEndpoint(headers, {}, receiver);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    await env.DB.prepare("UPDATE webhook_endpoints SET url = ?2 WHERE id = ?1")
      .bind(endpoint.id, "https://metadata.google.internal../computeMetadata/v1/")
      .run();
    const result = await consume([{ eventId: event.id, endpointId: endpoint.id, generation: 0 }]);
    expect(result.retried).toHaveLength(1);
    expect(receiver.requests).toHaveLength(0);
    const [attempt] = await attemptRows(event.id, endpoint.id);
    expect(attempt).toMatchObject({
      status_code: null,
      error: `not sent: ${URL_REFUSALS.privateHost}`,
    });
  });
});
