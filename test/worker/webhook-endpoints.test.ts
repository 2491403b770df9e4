import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { URL_REFUSALS } from "../../src/messages.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import { call, postJson } from "./helpers/http.ts";
import { givenCheckoutRow, givenEndpoint, givenUnsentEvent } from "./helpers/outbound.ts";
import { newReceiver } from "./helpers/receivers.ts";
import { givenTokenApp, newKeyPair, signToken } from "./helpers/tokens.ts";

/** Issue 15, item 1: an app's endpoints, through the API. */

const ENDPOINTS = "/api/v1/webhook-endpoints";

async function reader(appId: string) {
  return (await givenKey(appId, "read")).headers;
}

function send(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  return call(path, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("POST /api/v1/webhook-endpoints", () => {
  it("registers an endpoint and shows its signing secret once, stored only encrypted", async () => {
    const { app, headers } = await givenWriter();
    const receiver = newReceiver();
    const res = await postJson(
      ENDPOINTS,
      {
        url: receiver.url,
        test: true,
        eventTypes: ["checkout.completed", "invoice.paid"],
        description: "billing server",
      },
      headers,
    );
    expect(res.status).toBe(201);
    const endpoint = (res.body.data as { endpoint: Record<string, unknown> }).endpoint;
    expect(endpoint).toMatchObject({
      url: receiver.url,
      livemode: false,
      description: "billing server",
      eventTypes: ["checkout.completed", "invoice.paid"],
      status: "enabled",
      disabled: null,
      consecutiveFailures: 0,
      previousSecretValidUntil: null,
    });
    expect(endpoint.id).toMatch(/^we_[A-Za-z0-9]{24}$/);
    const secret = endpoint.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const row = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?1")
      .bind(endpoint.id)
      .first<Record<string, unknown>>();
    expect(row?.app_id).toBe(app.id);
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(row?.secret).toMatch(/^v1\./);

    // Never again: not when listed, not when shown.
    const listed = await call(`${ENDPOINTS}?test=true`, { headers: await reader(app.id) });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(6));
    const shown = await call(`${ENDPOINTS}/${endpoint.id}`, { headers });
    expect(shown.status).toBe(200);
    expect(shown.body.data).toMatchObject({ endpoint: { id: endpoint.id } });
    expect(JSON.stringify(shown.body)).not.toContain('secret":');
  });

  it("takes all event types when eventTypes is left out, and refuses a bad list", async () => {
    const { headers } = await givenWriter();
    const all = await postJson(ENDPOINTS, { url: newReceiver().url, test: true }, headers);
    expect(all.body.data).toMatchObject({ endpoint: { eventTypes: null } });
    for (const [eventTypes, error] of [
      [[], "eventTypes must name at least one event type (leave it out for all of them)"],
      [["checkout.completed", "checkout.completed"], "eventTypes names an event type twice"],
      [
        ["checkout.session.completed"],
        "eventTypes must name event types: checkout.completed, checkout.expired,",
      ],
    ] as const) {
      const res = await postJson(
        ENDPOINTS,
        { url: newReceiver().url, test: true, eventTypes },
        headers,
      );
      expect(res.status).toBe(400);
      expect(res.body.error).toContain(error);
    }
  });

  it("refuses unknown fields, a missing url, other content types and a live endpoint of a test-only app", async () => {
    const { headers } = await givenWriter();
    const unknown = await postJson(ENDPOINTS, { url: newReceiver().url, secret: "x" }, headers);
    expect(unknown).toMatchObject({
      status: 400,
      body: { error: "Unknown field in body: secret" },
    });
    const missing = await postJson(ENDPOINTS, { test: true }, headers);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain("url must be a string");
    const form = await call(ENDPOINTS, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
      body: "url=https://x.example.com",
    });
    expect(form.status).toBe(415);
    const live = await postJson(ENDPOINTS, { url: newReceiver().url }, headers);
    expect(live.status).toBe(403);
    expect(live.body.error).toContain("Live mode is not enabled for this app");
    const { headers: liveApp } = await givenWriter({ liveEnabled: true });
    const ok = await postJson(ENDPOINTS, { url: newReceiver().url }, liveApp);
    expect(ok.status).toBe(201);
    expect(ok.body.data).toMatchObject({ endpoint: { livemode: true } });
    const rows = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM webhook_endpoints WHERE url LIKE ?1",
    )
      .bind("%x.example.com%")
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it.each([
    ["http://hooks.example.com/x", URL_REFUSALS.notHttps],
    ["ftp://hooks.example.com/x", URL_REFUSALS.notHttps],
    ["hooks.example.com/x", URL_REFUSALS.notAbsolute],
    ["https://user:pw@hooks.example.com/x", URL_REFUSALS.credentials],
    ["https://hooks.example.com/x#frag", URL_REFUSALS.fragment],
    ["https://hooks.example.com:8443/x", URL_REFUSALS.port],
    ["https://10.0.0.1/x", URL_REFUSALS.ipLiteral],
    ["https://169.254.169.254/latest/meta-data", URL_REFUSALS.ipLiteral],
    ["https://2130706433/x", URL_REFUSALS.privateHost],
    ["https://0x7f.1/x", URL_REFUSALS.privateHost],
    ["https://[::1]/x", URL_REFUSALS.privateHost],
    ["https://[fd00::1]/x", URL_REFUSALS.ipLiteral],
    ["https://localhost/x", URL_REFUSALS.privateHost],
    ["https://api.localhost/x", URL_REFUSALS.privateHost],
    ["https://printer.local/x", URL_REFUSALS.privateHost],
    ["https://db.internal/x", URL_REFUSALS.privateHost],
    ["https://intranet/x", URL_REFUSALS.privateHost],
    ["https://router.home.arpa/x", URL_REFUSALS.privateHost],
    ["https://hooks.test/x", URL_REFUSALS.privateHost],
    ["https://127.0.0.1.nip.io/x", URL_REFUSALS.privateHost],
    ["https://10.0.0.1.sslip.io/x", URL_REFUSALS.privateHost],
    ["http://127.0.0.1:8789/webhooks", URL_REFUSALS.privateHost],
  ])("refuses %s when registered and when changed to it", async (url, reason) => {
    const { app, headers } = await givenWriter();
    const res = await postJson(ENDPOINTS, { url, test: true }, headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(reason);
    const { id } = await givenEndpoint(headers);
    const update = await send("PATCH", `${ENDPOINTS}/${id}`, headers, { url });
    expect(update.status).toBe(400);
    expect(update.body.error).toBe(reason);
    const rows = await env.DB.prepare("SELECT url FROM webhook_endpoints WHERE app_id = ?1")
      .bind(app.id)
      .all<{ url: string }>();
    // Only the endpoint made above, with its own URL: the refused one was stored nowhere, not
    // even normalised.
    expect(rows.results).toHaveLength(1);
    expect(rows.results.map((r) => r.url)).not.toContain(url);
  });

  it.each([
    ["an escape sequence", "billing \u001b]0;pwned\u0007\u001b[2J"],
    ["a C1 control (8-bit CSI)", "billing \u009b31m"],
    ["DEL", "billing\u007f"],
    ["a line break inside", "billing\nstatus: enabled"],
    ["a tab", "billing\tserver"],
    ["a bidi override", "billing \u202egnp.exe"],
    ["a bidi isolate", "billing \u2066x\u2069"],
    ["a zero-width space", "bill\u200bing"],
    ["a line separator", "billing\u2028server"],
  ])(
    "refuses a description with %s, when registered and when changed, storing nothing",
    async (_what, description) => {
      const { app, headers } = await givenWriter();
      const message =
        "description must not contain control characters (line breaks, tabs, escape sequences, bidi or zero-width characters)";
      const res = await postJson(
        ENDPOINTS,
        { url: newReceiver().url, test: true, description },
        headers,
      );
      expect(res).toMatchObject({ status: 400, body: { success: false, error: message } });
      const { id } = await givenEndpoint(headers, { description: "billing server" });
      const update = await send("PATCH", `${ENDPOINTS}/${id}`, headers, { description });
      expect(update).toMatchObject({ status: 400, body: { success: false, error: message } });
      const rows = await env.DB.prepare(
        "SELECT description FROM webhook_endpoints WHERE app_id = ?1",
      )
        .bind(app.id)
        .all<{ description: string | null }>();
      expect(rows.results).toEqual([{ description: "billing server" }]);
    },
  );

  it("takes a description in any script, with emoji and punctuation", async () => {
    const { headers } = await givenWriter();
    const description = "Abrechnung – 請求 — ✅ «billing» (v2)";
    const res = await postJson(
      ENDPOINTS,
      { url: newReceiver().url, test: true, description },
      headers,
    );
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ endpoint: { description } });
  });

  it("refuses an eleventh endpoint in one mode, and counts modes apart", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const made = await Promise.all(
      Array.from({ length: 10 }, () =>
        postJson(ENDPOINTS, { url: newReceiver().url, test: true }, headers),
      ),
    );
    expect(made.map((r) => r.status)).toEqual(Array(10).fill(201));
    const eleventh = await postJson(ENDPOINTS, { url: newReceiver().url, test: true }, headers);
    expect(eleventh.status).toBe(409);
    expect(eleventh.body.error).toBe(
      "This app already has 10 webhook endpoints in test mode; delete one first",
    );
    const live = await postJson(ENDPOINTS, { url: newReceiver().url }, headers);
    expect(live.status).toBe(201);
  });
});

describe("credentials", () => {
  it("lets read keys list and show, and only write keys change; tokens and browsers are refused", async () => {
    const keys = await newKeyPair();
    const app = await givenTokenApp(keys, { allowedOrigins: ["https://app.example.com"] });
    const write = (await givenKey(app.id, "write")).headers;
    const read = await reader(app.id);
    const { id } = await givenEndpoint(write);
    expect((await call(`${ENDPOINTS}?test=true`, { headers: read })).status).toBe(200);
    expect((await call(`${ENDPOINTS}/${id}`, { headers: read })).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", ENDPOINTS, { url: newReceiver().url, test: true }],
      ["PATCH", `${ENDPOINTS}/${id}`, { enabled: false }],
      ["POST", `${ENDPOINTS}/${id}/rotate-secret`, undefined],
      ["DELETE", `${ENDPOINTS}/${id}`, undefined],
    ] as const) {
      const res = await send(method, path, read, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error).toBe("A read API key may not do this; use a write API key");
    }
    const token = await signToken(keys, app, { tenantId: crypto.randomUUID() });
    const withToken = await call(`${ENDPOINTS}?test=true`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(withToken.status).toBe(403);
    expect(withToken.body.error).toBe(
      "Access tokens may not call this route; use a write API key from your server",
    );
    const fromBrowser = await call(`${ENDPOINTS}?test=true`, {
      headers: { ...read, Origin: "https://app.example.com" },
    });
    expect(fromBrowser.status).toBe(403);
    expect((await call(`${ENDPOINTS}?test=true`)).status).toBe(401);
    const row = await env.DB.prepare("SELECT status FROM webhook_endpoints WHERE id = ?1")
      .bind(id)
      .first<{ status: string }>();
    expect(row?.status).toBe("enabled");
  });

  it("keeps apps apart: another app's endpoint is 404 for every route, and never listed", async () => {
    const { headers: mine } = await givenWriter();
    const { headers: theirs } = await givenWriter();
    const { id } = await givenEndpoint(theirs);
    for (const [method, path, body] of [
      ["GET", `${ENDPOINTS}/${id}`, undefined],
      ["PATCH", `${ENDPOINTS}/${id}`, { description: "mine now" }],
      ["POST", `${ENDPOINTS}/${id}/rotate-secret`, undefined],
      ["DELETE", `${ENDPOINTS}/${id}`, undefined],
    ] as const) {
      const res = await send(method, path, mine, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error).toBe("No webhook endpoint with this id");
    }
    const listed = await call(`${ENDPOINTS}?test=true`, { headers: mine });
    expect(listed.body.data).toEqual({ endpoints: [] });
    const bad = await call(`${ENDPOINTS}/not-an-id`, { headers: mine });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("id in the path must be a webhook endpoint id (we_…)");
  });
});

describe("PATCH, rotate-secret and DELETE", () => {
  it("changes the url, the types and the description; null takes every type again", async () => {
    const { headers } = await givenWriter();
    const { id } = await givenEndpoint(headers, { eventTypes: ["checkout.completed"] });
    const other = newReceiver();
    const res = await send("PATCH", `${ENDPOINTS}/${id}`, headers, {
      url: other.url,
      eventTypes: null,
      description: "new",
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      endpoint: { url: other.url, eventTypes: null, description: "new" },
    });
    const empty = await send("PATCH", `${ENDPOINTS}/${id}`, headers, {});
    expect(empty.status).toBe(400);
    expect(empty.body.error).toBe(
      "Nothing to change: give url, eventTypes, description or enabled",
    );
    // An unknown field is the one thing wrong with this body, not also "nothing to change".
    const unknown = await send("PATCH", `${ENDPOINTS}/${id}`, headers, { test: false });
    expect(unknown.body.error).toBe("Unknown field in body: test");
  });

  it("disables an endpoint (its pending deliveries are canceled) and enables it again with its failures forgotten", async () => {
    const { app, headers } = await givenWriter();
    const { id } = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    await env.DB.prepare(
      "UPDATE webhook_endpoints SET consecutive_failures = 7, failing_since = ?2 WHERE id = ?1",
    )
      .bind(id, Math.floor(Date.now() / 1000) - 3600)
      .run();
    const off = await send("PATCH", `${ENDPOINTS}/${id}`, headers, { enabled: false });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({
      endpoint: { status: "disabled", disabled: { reason: "app" } },
    });
    const delivery = await env.DB.prepare(
      "SELECT status, last_error FROM webhook_deliveries WHERE event_id = ?1",
    )
      .bind(event.id)
      .first<{ status: string; last_error: string }>();
    expect(delivery).toEqual({
      status: "canceled",
      last_error: "the endpoint was disabled before this was sent",
    });
    const on = await send("PATCH", `${ENDPOINTS}/${id}`, headers, { enabled: true });
    expect(on.body.data).toMatchObject({
      endpoint: { status: "enabled", disabled: null, consecutiveFailures: 0, failingSince: null },
    });
  });

  it("rotates the secret: a new one shown once, the old one valid for 24 hours more", async () => {
    const { headers } = await givenWriter();
    const { id, secret } = await givenEndpoint(headers);
    const before = Date.now();
    const res = await send("POST", `${ENDPOINTS}/${id}/rotate-secret`, headers);
    expect(res.status).toBe(200);
    const endpoint = (
      res.body.data as { endpoint: { secret: string; previousSecretValidUntil: string } }
    ).endpoint;
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(endpoint.secret).not.toBe(secret);
    const until = Date.parse(endpoint.previousSecretValidUntil);
    expect(until - before).toBeGreaterThanOrEqual(86_400_000 - 2_000);
    expect(until - before).toBeLessThanOrEqual(86_400_000 + 2_000);
    // Rotating again within the day keeps both replaced secrets signing.
    await send("POST", `${ENDPOINTS}/${id}/rotate-secret`, headers);
    const row = await env.DB.prepare("SELECT previous_secrets FROM webhook_endpoints WHERE id = ?1")
      .bind(id)
      .first<{ previous_secrets: string }>();
    expect(JSON.parse(row?.previous_secrets ?? "[]")).toHaveLength(2);
  });

  it("deletes an endpoint with its deliveries and attempts", async () => {
    const { app, headers } = await givenWriter();
    const { id } = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const event = await givenUnsentEvent(rowId);
    await env.DB.prepare(
      "INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, at_ms, status_code, duration_ms) VALUES (?1, ?2, 1, 0, 500, 3)",
    )
      .bind(event.id, id)
      .run();
    const res = await send("DELETE", `${ENDPOINTS}/${id}`, headers);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ deleted: true });
    for (const table of ["webhook_endpoints", "webhook_deliveries", "webhook_attempts"]) {
      const column = table === "webhook_endpoints" ? "id" : "endpoint_id";
      const n = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?1`)
        .bind(id)
        .first<{ n: number }>();
      expect(n?.n, table).toBe(0);
    }
    // The event itself stays: it happened, and other endpoints may have it.
    const kept = await env.DB.prepare("SELECT id FROM webhook_events WHERE id = ?1")
      .bind(event.id)
      .first();
    expect(kept).not.toBeNull();
    expect((await send("DELETE", `${ENDPOINTS}/${id}`, headers)).status).toBe(404);
  });
});
