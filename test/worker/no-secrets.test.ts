import { env, exports } from "cloudflare:workers";
import Stripe from "stripe";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { generateApiKey } from "../../src/apps/keys.ts";
import { sha256Hex } from "../../src/crypto.ts";
import type { Fault } from "../../stripe-double/double.ts";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { givenTokenApp, newKeyPair, signToken } from "./helpers/tokens.ts";
import {
  deliver,
  sessionEvent,
  WEBHOOK_SECRET_LIVE,
  WEBHOOK_SECRET_TEST,
} from "./helpers/webhooks.ts";

/**
 * The worker never writes a secret to its logs or sends one back: not the API keys, tokens and
 * states callers send, not the Stripe keys and webhook secrets it holds, not the signatures
 * Stripe sends. And every request leaves exactly one JSON log line with its request id.
 */

const ORIGIN = "https://pay.example.test";
const CREATE = "/api/v1/checkout-sessions";
const SLICE = 12;
const cryptoProvider = Stripe.createSubtleCryptoProvider();

// ---------------------------------------------------------------------------------------------
// Secrets, and what the worker said
// ---------------------------------------------------------------------------------------------

interface Secret {
  label: string;
  value: string;
  /** Slices of SLICE characters of value.slice(prefixLength) must not appear either. */
  prefixLength: number | null;
}

const secrets: Secret[] = [];

/** Registers a secret; with `prefix`, every 12-character slice after it counts as the secret. */
function secret(label: string, value: string, prefix?: string | number): string {
  const prefixLength =
    prefix === undefined ? null : typeof prefix === "number" ? prefix : prefix.length;
  if (typeof prefix === "string") expect(value.startsWith(prefix), label).toBe(true);
  secrets.push({ label, value, prefixLength });
  return value;
}

/**
 * What is stored instead of a key or state: not a secret itself, but never shown either (the
 * read route leaves the state digest out; nothing answers with a key digest).
 */
async function digestOf(label: string, value: string): Promise<void> {
  secrets.push({ label: `SHA-256 of ${label}`, value: await sha256Hex(value), prefixLength: null });
}

/** A key like cko_write_…: everything after the type is secret. */
async function apiKey(label: string, value: string): Promise<string> {
  await digestOf(label, value);
  return secret(label, value, /^cko_(read|write)_/.exec(value)?.[0] ?? "");
}

/** A state: all of it is secret, and its digest is never shown. */
async function secretState(label = "state"): Promise<string> {
  const value = newState();
  await digestOf(label, value);
  return secret(label, value, 0);
}

/** A JWT: its header is public (the same for every RS256 token), its claims and signature not. */
function token(label: string, value: string): string {
  return secret(label, value, value.indexOf(".") + 1);
}

// The service's own secrets, as the worker sees them.
for (const name of ["STRIPE_SECRET_KEY_TEST", "STRIPE_SECRET_KEY_LIVE"] as const) {
  const value = env[name];
  if (value) secret(name, value, /^(sk|rk)_(test|live)_/.exec(value)?.[0] ?? "");
}
for (const name of ["STRIPE_WEBHOOK_SECRET_TEST", "STRIPE_WEBHOOK_SECRET_LIVE"] as const) {
  const value = env[name];
  if (value) secret(name, value, "whsec_");
}

interface Exchange {
  requestId: string | null;
  method: string;
  path: string;
  status: number;
  text: string;
  headers: [string, string][];
  expectedAppId: string | null | undefined;
  logLines: string[];
}

let captured: string[] = [];
let exchanges: Exchange[] = [];

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) {
    const cause = value.cause === undefined ? "" : `\ncause: ${asText(value.cause)}`;
    return `${value.name}: ${value.message}\n${value.stack ?? ""}${cause}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

beforeEach(() => {
  captured = [];
  exchanges = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push(`[${level}] ${args.map(asText).join(" ")}`);
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

let requestCounter = 0;

/**
 * Sends a request to the worker with a fresh X-Request-Id (unless `requestId: null`) and keeps
 * what came back and which log lines it produced. `appId`: the app the log line must name
 * (null: none; undefined: not checked).
 */
async function send(
  path: string,
  init: RequestInit & { requestId?: string | null; appId?: string | null } = {},
): Promise<Exchange> {
  const { requestId: given, appId, ...rest } = init;
  const requestId = given === undefined ? `req-${++requestCounter}-${crypto.randomUUID()}` : given;
  const headers = new Headers(rest.headers);
  if (requestId !== null) headers.set("X-Request-Id", requestId);
  const before = captured.length;
  const response = await exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { redirect: "manual", ...rest, headers }),
  );
  const text = await response.text();
  const exchange: Exchange = {
    requestId,
    method: rest.method ?? "GET",
    path,
    status: response.status,
    text,
    headers: [...response.headers],
    expectedAppId: appId,
    logLines: captured.slice(before),
  };
  exchanges.push(exchange);
  return exchange;
}

function json(exchange: Exchange): { success: boolean; error: string | null; data: unknown } {
  return JSON.parse(exchange.text);
}

function postJson(
  path: string,
  body: unknown,
  headers: Record<string, string>,
  appId?: string | null,
): Promise<Exchange> {
  return send(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    appId,
  });
}

/** Creates a checkout (200) and registers its state as a secret. */
async function created(headers: Record<string, string>, appId: string, path = CREATE) {
  const state = await secretState();
  const res = await postJson(path, validBody({ state }), headers, appId);
  expect(res.status, res.text).toBe(200);
  const { checkout } = json(res).data as { checkout: { id: string; hash: string } };
  return { ...checkout, state };
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

interface Finding {
  secret: string;
  where: string;
  match: string;
}

function findLeaks(where: string, text: string): Finding[] {
  const findings: Finding[] = [];
  for (const s of secrets) {
    if (text.includes(s.value)) {
      findings.push({ secret: s.label, where, match: s.value });
      continue;
    }
    if (s.prefixLength === null) continue;
    const rest = s.value.slice(s.prefixLength);
    for (let i = 0; i + SLICE <= rest.length; i++) {
      const slice = rest.slice(i, i + SLICE);
      if (text.includes(slice)) {
        findings.push({ secret: s.label, where, match: slice });
        break;
      }
    }
  }
  return findings;
}

/** Nothing secret in any log line, response body or response header of this test. */
function expectNoLeaks() {
  const findings: Finding[] = [];
  captured.forEach((line, i) => {
    findings.push(...findLeaks(`log line ${i}: ${line.slice(0, 300)}`, line));
  });
  for (const x of exchanges) {
    const label = `${x.method} ${x.path.slice(0, 80)} → ${x.status}`;
    findings.push(...findLeaks(`body of ${label}`, x.text));
    for (const [name, value] of x.headers) {
      findings.push(...findLeaks(`header ${name} of ${label}`, `${name}: ${value}`));
    }
  }
  expect(findings).toEqual([]);
}

interface LogLine {
  requestId: unknown;
  method: unknown;
  route: unknown;
  status: unknown;
  durationMs: unknown;
  appId: unknown;
}

/** A request's JSON log line, as captured: `[info] {…}` or `[error] {…}`. */
const REQUEST_LINE = /^\[(info|error)\] \{/;
const isRequestLine = (line: string) => REQUEST_LINE.test(line);
const requestLine = (line: string) => JSON.parse(line.slice(line.indexOf("]") + 2)) as LogLine;

/** The one JSON log line of a request: its id, method, route, status, duration and app. */
function expectOneLogLine(x: Exchange, responseRequestId: string | null) {
  const label = `${x.method} ${x.path.slice(0, 80)} → ${x.status}`;
  const own = x.logLines.filter(isRequestLine);
  expect(own, `log lines of ${label}: ${x.logLines.join("\n")}`).toHaveLength(1);
  // Our 5xx are logged at level error, everything else at info.
  expect(own[0]?.slice(0, own[0].indexOf("]") + 1), label).toBe(
    x.status >= 500 ? "[error]" : "[info]",
  );
  const line = requestLine(own[0] ?? "");
  for (const field of ["requestId", "method", "route", "status", "durationMs", "appId"]) {
    expect(line, label).toHaveProperty(field);
  }
  expect(line.requestId, label).toBe(x.requestId ?? responseRequestId);
  expect(line.method, label).toBe(x.method);
  expect(typeof line.route, label).toBe("string");
  expect(line.status, label).toBe(x.status);
  expect(typeof line.durationMs === "number" && line.durationMs >= 0, label).toBe(true);
  expect(line.appId === null || typeof line.appId === "string", label).toBe(true);
  if (x.expectedAppId !== undefined) expect(line.appId, label).toBe(x.expectedAppId);
}

/**
 * Every request of the test: its own log line, echoed X-Request-Id; and no leaks anywhere.
 * `otherRequests`: requests sent through the suite's helpers (not `send`), each one line.
 */
function expectLogsAndNoLeaks(otherRequests = 0) {
  expect(exchanges.length).toBeGreaterThan(0);
  for (const x of exchanges) {
    const echoed = x.headers.find(([name]) => name.toLowerCase() === "x-request-id")?.[1] ?? null;
    if (x.requestId !== null) expect(echoed, x.path).toBe(x.requestId);
    expectOneLogLine(x, echoed);
  }
  // No log line without a request: every JSON line belongs to one of the exchanges.
  const jsonLines = captured.filter(isRequestLine);
  expect(jsonLines).toHaveLength(exchanges.length + otherRequests);
  expectNoLeaks();
}

// ---------------------------------------------------------------------------------------------
// The requests the suite makes
// ---------------------------------------------------------------------------------------------

describe("the leak detector", () => {
  it("finds a whole secret, a 12-character slice past the prefix, and a digest", async () => {
    const key = await apiKey("probe key", generateApiKey("write"));
    const probe = await secretState("probe state");
    expect(findLeaks("t", `{"x":"${key}"}`).map((f) => f.secret)).toEqual(["probe key"]);
    expect(findLeaks("t", `…${key.slice(20, 32)}…`).map((f) => f.secret)).toEqual(["probe key"]);
    expect(findLeaks("t", "cko_write_ only the prefix")).toEqual([]);
    expect(findLeaks("t", probe.slice(30, 42)).map((f) => f.secret)).toEqual(["probe state"]);
    expect(findLeaks("t", await sha256Hex(probe)).map((f) => f.secret)).toEqual([
      "SHA-256 of probe state",
    ]);
    const stripeKey = env.STRIPE_SECRET_KEY_TEST ?? "";
    expect(findLeaks("t", stripeKey.slice(-12)).map((f) => f.secret)).toContain(
      "STRIPE_SECRET_KEY_TEST",
    );
    expect(findLeaks("t", env.STRIPE_WEBHOOK_SECRET_TEST ?? "").length).toBeGreaterThan(0);
  });
});

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
    vi.spyOn(stripe, "handle").mockImplementation(async (request: Request) => {
      if (new URL(request.url).pathname !== "/v1/checkout/sessions") return realHandle(request);
      return new Response(
        JSON.stringify({
          error: {
            type: "invalid_request_error",
            message: `Invalid API Key provided: ${testKey.slice(0, 8)}${"*".repeat(Math.max(0, testKey.length - 12))}${testKey.slice(-4)}`,
          },
        }),
        { status: 401, headers: { "Content-Type": "application/json" } },
      );
    });
    expect((await postJson(CREATE, await body(), headers, app.id)).status).toBe(502);
    expectLogsAndNoLeaks();
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

  it("reads with read and write keys, unknown, revoked and malformed keys", async () => {
    const { app, key } = await givenWriter();
    await apiKey("write key", key.key);
    const reader = await givenKey(app.id, "read");
    await apiKey("read key", reader.key);
    const revoked = await givenKey(app.id, "read", { revoked: true });
    await apiKey("revoked key", revoked.key);
    const unknown = await apiKey("unknown key", generateApiKey("read"));
    const checkout = await created(key.headers, app.id);
    const read = (id: string, headers: Record<string, string>, appId?: string | null) =>
      send(`/api/v1/checkout-sessions/${id}`, { headers, appId });

    expect((await read(checkout.id, reader.headers, app.id)).status).toBe(200);
    expect((await read(checkout.id, key.headers, app.id)).status).toBe(200);
    expect((await read("cs_test_unknown", reader.headers, app.id)).status).toBe(404);
    expect((await read("not-an-id", reader.headers, app.id)).status).toBe(400);
    expect((await read(checkout.id, revoked.headers, null)).status).toBe(401);
    expect(
      (await read(checkout.id, { ...reader.headers, "X-API-KEY": unknown }, null)).status,
    ).toBe(401);
    expect(
      (await read(checkout.id, { ...reader.headers, "X-API-KEY": `${reader.key}x` }, null)).status,
    ).toBe(401);
    expect(
      (await read(checkout.id, { ...reader.headers, Origin: "https://app.example.test" }, null))
        .status,
    ).toBe(403);
    expect((await read(checkout.id, {}, null)).status).toBe(401);
    expectLogsAndNoLeaks();
  });

  it("token calls: valid, with a tenant, expired, forged, tampered, for another app", async () => {
    const keys = await newKeyPair();
    const otherKeys = await newKeyPair();
    const app = await givenTokenApp(keys, { allowedOrigins: ["https://app.example.test"] });
    const { app: writerApp, key } = await givenWriter();
    await apiKey("write key", key.key);
    const now = Math.floor(Date.now() / 1000);
    const tenantId = crypto.randomUUID();
    const valid = token("valid token", await signToken(keys, app));
    const withTenant = token("tenant token", await signToken(keys, app, { tenantId }));
    const expired = token(
      "expired token",
      await signToken(keys, app, { iat: now - 4000, exp: now - 3600 }),
    );
    const forged = token("forged token", await signToken(otherKeys, app));
    const otherAudience = token(
      "other-audience token",
      await signToken(keys, app, { aud: writerApp.id }),
    );
    const tampered = token("tampered token", `${valid.slice(0, -6)}AAAAAA`);

    const bearer = (t: string, extra: Record<string, string> = {}) => ({
      Authorization: `Bearer ${t}`,
      ...extra,
    });
    const checkout = await created(bearer(withTenant), app.id);
    await created(bearer(valid, { Origin: "https://app.example.test" }), app.id);
    expect(
      (await send(`/api/v1/checkout-sessions/${checkout.id}`, { headers: bearer(withTenant) }))
        .status,
    ).toBe(200);
    expect(
      (await send(`/api/v1/checkout-sessions/${checkout.id}`, { headers: bearer(valid) })).status,
    ).toBe(404);
    for (const t of [expired, forged, otherAudience, tampered]) {
      const res = await postJson(
        CREATE,
        validBody({ state: await secretState() }),
        bearer(t),
        null,
      );
      expect(res.status, res.text).toBe(401);
    }
    const wrongOrigin = await postJson(
      CREATE,
      validBody({ state: await secretState() }),
      bearer(valid, { Origin: "https://evil.example" }),
      undefined,
    );
    expect(wrongOrigin.status).toBe(403);
    const both = await postJson(
      CREATE,
      validBody({ state: await secretState() }),
      { ...key.headers, ...bearer(valid) },
      null,
    );
    expect(both.status).toBe(401);
    const basic = await send(CREATE, {
      method: "POST",
      headers: { Authorization: `Basic ${btoa(`user:${valid}`)}` },
      appId: null,
    });
    expect(basic.status).toBe(401);
    secret("basic credentials", btoa(`user:${valid}`), 0);
    const preflight = await send(CREATE, {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example.test",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
      },
      appId: null,
    });
    expect(preflight.status).toBe(204);
    expectLogsAndNoLeaks();
  });

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

  it("webhook deliveries: valid, replayed, live, badly signed, unsigned", async () => {
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
