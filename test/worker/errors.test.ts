import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { call, postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { signedEventRequest } from "./helpers/webhooks.ts";

const CREATE = "/api/v1/checkout-sessions";

/** Calls the worker with a changed environment, as a deploy with a bad var or secret would. */
async function callWithEnv(
  changes: Partial<Record<keyof Bindings, string | undefined>>,
  init: { headers: Record<string, string>; body: unknown },
) {
  const request = new Request(`https://pay.example.test${CREATE}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...init.headers },
    body: JSON.stringify(init.body),
  });
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...env, ...changes } as Bindings,
    createExecutionContext(),
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("every answer is in the envelope", () => {
  it("answers an unknown route with 404", async () => {
    const res = await call("/api/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: "No route for GET /api/v1/nothing-here",
    });
  });

  it("answers the root with 404", async () => {
    expect((await call("/")).status).toBe(404);
  });

  it.each(["GET", "PUT", "PATCH", "DELETE"])(
    "answers %s on the create route with 405 and Allow: POST",
    async (method) => {
      const res = await call(CREATE, { method });
      expect(res.status).toBe(405);
      expect(res.response.headers.get("Allow")).toBe("POST");
      expect(res.body.error).toBe(`Method ${method} is not allowed here; use POST`);
    },
  );

  it("answers GET on the tenant route with 405", async () => {
    const res = await call(`/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`);
    expect(res.status).toBe(405);
  });
});

describe("X-Request-Id", () => {
  it("keeps a caller's sane request id on success and on failure", async () => {
    const { headers } = await givenWriter();
    const ok = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "X-Request-Id": "abc-123",
    });
    expect(ok.response.headers.get("X-Request-Id")).toBe("abc-123");
    const failed = await call("/nope", { headers: { "X-Request-Id": "def-456" } });
    expect(failed.response.headers.get("X-Request-Id")).toBe("def-456");
  });

  it("replaces an unsafe or overlong request id with a new one", async () => {
    const unsafe = await call("/nope", { headers: { "X-Request-Id": "a b<script>" } });
    expect(unsafe.response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    const long = await call("/nope", { headers: { "X-Request-Id": "a".repeat(200) } });
    expect(long.response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("generates one when none is sent", async () => {
    const res = await call("/healthz");
    expect(res.response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("configuration", () => {
  it.each([
    ["PUBLIC_BASE_URL", undefined],
    ["PUBLIC_BASE_URL", "not a url"],
    ["PUBLIC_BASE_URL", "https://pay.example.test/with/path"],
    ["STRIPE_API_BASE_URL", "ftp://stripe.test"],
    ["CHECKOUT_EXPIRES_MINUTES", "5"],
    // Stripe's own minimum, which leaves no room for a retry of a failed attempt.
    ["CHECKOUT_EXPIRES_MINUTES", "30"],
    ["STRIPE_API_BASE_URL", "http://api.stripe.com"],
    ["STRIPE_API_BASE_URL", "http://stripe.example.test:12111"],
    ["STRIPE_TIMEOUT_MS", "soon"],
  ] as const)("answers 500 naming %s when it is %s, before any I/O", async (name, value) => {
    const { app, headers } = await givenWriter();
    const res = await callWithEnv(
      { [name]: value },
      { headers, body: validBody({ state: newState() }) },
    );
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: `Service misconfigured: the variable ${name} is missing or malformed`,
    });
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("answers 500 naming the missing Stripe secret, without calling Stripe or writing a row", async () => {
    const { app, headers } = await givenWriter();
    const res = await callWithEnv(
      { STRIPE_SECRET_KEY_TEST: undefined },
      { headers, body: validBody({ state: newState() }) },
    );
    expect(res.status).toBe(500);
    expect(res.body.error).toBe(
      "Service misconfigured: the secret STRIPE_SECRET_KEY_TEST is missing or is not a test-mode Stripe key",
    );
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("refuses a live key configured as the test key", async () => {
    const { headers } = await givenWriter();
    const res = await callWithEnv(
      { STRIPE_SECRET_KEY_TEST: "sk_live_oops" },
      { headers, body: validBody({ state: newState() }) },
    );
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain("sk_live_oops");
    expect(stripe.requests).toHaveLength(0);
  });

  it("refuses live checkouts when the public base URL is not https", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const res = await callWithEnv(
      { PUBLIC_BASE_URL: "http://localhost:8787" },
      { headers, body: validBody({ state: newState(), test: false }) },
    );
    expect(res.status).toBe(500);
    expect(res.body.error).toBe(
      "Service misconfigured: the variable PUBLIC_BASE_URL must be https for live checkouts",
    );
    expect(stripe.requests).toHaveLength(0);
  });

  it("uses the configured expiry", async () => {
    const { headers } = await givenWriter();
    const before = Math.floor(Date.now() / 1000);
    const res = await callWithEnv(
      { CHECKOUT_EXPIRES_MINUTES: "35" },
      { headers, body: validBody({ state: newState() }) },
    );
    expect(res.status).toBe(200);
    const expiresAt = Number(stripe.creates()[0]?.form.expires_at);
    expect(expiresAt - before).toBeGreaterThanOrEqual(2100);
    expect(expiresAt - before).toBeLessThanOrEqual(2105);
  });

  it("takes a changed var into account on the very next request (the parsed config is cached)", async () => {
    const { headers } = await givenWriter();
    const expiryOf = async (changes: Partial<Record<keyof Bindings, string | undefined>>) => {
      const before = Math.floor(Date.now() / 1000);
      const res = await callWithEnv(changes, { headers, body: validBody({ state: newState() }) });
      if (res.status !== 200) return { status: res.status, error: res.body.error };
      const { checkout } = res.body.data as { checkout: { expiresAt: string } };
      return {
        status: 200,
        minutes: Math.round((Date.parse(checkout.expiresAt) / 1000 - before) / 60),
      };
    };
    expect(await expiryOf({ CHECKOUT_EXPIRES_MINUTES: "35" })).toEqual({
      status: 200,
      minutes: 35,
    });
    expect(await expiryOf({ CHECKOUT_EXPIRES_MINUTES: "45" })).toEqual({
      status: 200,
      minutes: 45,
    });
    expect(await expiryOf({ CHECKOUT_EXPIRES_MINUTES: "5" })).toEqual({
      status: 500,
      error: "Service misconfigured: the variable CHECKOUT_EXPIRES_MINUTES is missing or malformed",
    });
    expect(await expiryOf({ CHECKOUT_EXPIRES_MINUTES: "45" })).toEqual({
      status: 200,
      minutes: 45,
    });
    expect(await expiryOf({})).toEqual({ status: 200, minutes: 60 });
  });
});

/** Delivers a signed Stripe event to the worker running with a changed environment. */
async function deliverWithEnv(changes: Partial<Record<keyof Bindings, string>>, event: unknown) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    (await signedEventRequest(event)) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, ...changes } as Bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("each handler parses only the variables it uses (issue 19, B10)", () => {
  async function paidCheckout() {
    const { app, headers } = await givenWriter();
    const res = await postJson(CREATE, validBody({ state: newState() }), headers);
    const sessionId = (res.body.data as { checkout: { id: string } }).checkout.id;
    const completed = stripe
      .completeSession(sessionId)
      .find((e) => e.type === "checkout.session.completed");
    return { app, completed };
  }

  it("records a Stripe event while a variable only outbound webhooks use is malformed", async () => {
    const { app, completed } = await paidCheckout();
    const res = await deliverWithEnv({ WEBHOOK_RETRY_SECONDS: "x" }, completed);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ outcome: "applied" });
    expect((await rowsOfApp(app.id))[0]?.status).toBe("complete");
  });

  it("records a Stripe event while PUBLIC_BASE_URL, which only the create path uses, is malformed", async () => {
    const { app, completed } = await paidCheckout();
    const res = await deliverWithEnv({ PUBLIC_BASE_URL: "not a url" }, completed);
    expect(res.status).toBe(200);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("complete");
  });

  it("answers 500 naming a variable the Stripe event route does use, changing nothing", async () => {
    const { app, completed } = await paidCheckout();
    const res = await deliverWithEnv({ BILLING_RESYNC_HOURS: "daily" }, completed);
    expect(res.status).toBe(500);
    expect(res.body.error).toBe(
      "Service misconfigured: the variable BILLING_RESYNC_HOURS is missing or malformed",
    );
    expect((await rowsOfApp(app.id))[0]?.status).toBe("open");
  });

  it("runs the cron while a variable only the API and the queue use is malformed", async () => {
    const { app } = await givenWriter();
    const now = Math.floor(Date.now() / 1000);
    // A reservation whose Stripe call never succeeded, past its expiry: the cron expires it.
    await env.DB.prepare(
      `INSERT INTO checkout_sessions (id, hash, app_id, livemode, state_digest, request_fingerprint, status, mode, price, quantity,
         tax_rate, allowed_country, payment_method, billing_address_collection, reverse_charge, created_at, updated_at, expires_at)
       VALUES (?1, ?1, ?2, 0, ?1, 'f', 'pending', 'payment', 'price_eur_once', 1, 'txr_vat_de_19', 'DE', 'card', 0, 0, ?3, ?3, ?4)`,
    )
      .bind(crypto.randomUUID(), app.id, now - 7200, now - 3600)
      .run();
    const broken = {
      ...env,
      WEBHOOK_RETRY_SECONDS: "x",
      PUBLIC_BASE_URL: "not a url",
      CHECKOUT_EXPIRES_MINUTES: "5",
    } as Bindings;
    await worker.scheduled(
      createScheduledController({ scheduledTime: now * 1000, cron: "*/10 * * * *" }),
      broken,
    );
    expect((await rowsOfApp(app.id))[0]?.status).toBe("expired");
  });
});

describe("GET /healthz", () => {
  it("answers ok after touching D1 and KV", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: "ok", error: null, data: { status: "ok" } });
  });

  it("answers 405 to POST", async () => {
    expect((await call("/healthz", { method: "POST" })).status).toBe(405);
  });
});
