import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import Stripe from "stripe";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { bindingsWithFaults } from "./helpers/faults.ts";
import { call, postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { givenTokenApp, type KeyPair, newKeyPair, signToken } from "./helpers/tokens.ts";
import { sessionEvent, WEBHOOK_SECRET_LIVE, WEBHOOK_SECRET_TEST } from "./helpers/webhooks.ts";

/** Issue 12, items 6, 7 and 10: header values, the payment page, and the smaller holes. */

const ORIGIN = "https://pay.example.test";
const CREATE = "/api/v1/checkout-sessions";
let keys: KeyPair;

beforeAll(async () => {
  keys = await newKeyPair();
});

async function fetchWithEnv(changes: Partial<Bindings>, request: Request) {
  return worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...env, ...changes } as Bindings,
    createExecutionContext(),
  );
}

describe("no header value can cause a 500", () => {
  const longOrigin = `https://${"a".repeat(600)}.example`;

  it.each([
    ["a preflight", "OPTIONS"],
    ["a GET", "GET"],
  ])(
    "answers %s with an Origin over 500 bytes with 403, looking nothing up",
    async (_what, method) => {
      const res = await exports.default.fetch(
        new Request(`${ORIGIN}/api/v1/checkout-sessions/cs_test_abc`, {
          method,
          headers: { Origin: longOrigin, "Access-Control-Request-Method": "POST" },
        }),
      );
      expect(res.status).toBe(method === "OPTIONS" ? 403 : 401);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      expect(((await res.json()) as { success: boolean }).success).toBe(false);
    },
  );

  it("treats an Origin that is not exactly an origin as unknown (no CORS headers)", async () => {
    const app = await givenTokenApp(keys, { allowedOrigins: ["https://app.example.test"] });
    for (const origin of ["https://app.example.test/", "HTTPS://APP.EXAMPLE.TEST", "null"]) {
      const res = await exports.default.fetch(
        new Request(`${ORIGIN}${CREATE}`, {
          method: "OPTIONS",
          headers: { Origin: origin, "Access-Control-Request-Method": "POST" },
        }),
      );
      expect(res.status, origin).toBe(403);
      expect(res.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
      // A token call from it is refused like one from an origin the app does not allow.
      const token = await signToken(keys, app);
      const created = await postJson(CREATE, validBody({ state: newState() }), {
        Authorization: `Bearer ${token}`,
        Origin: origin,
      });
      expect(created.status, origin).toBe(403);
    }
    expect(await rowsOfApp(app.id)).toHaveLength(0);
    expect(stripe.creates()).toHaveLength(0);
  });
});

describe("the payment page is always a page", () => {
  async function openCheckout() {
    const { headers } = await givenWriter();
    const state = newState();
    const res = await postJson(CREATE, validBody({ state }), headers);
    const { hash } = (res.body.data as { checkout: { hash: string } }).checkout;
    return { hash, state };
  }

  function expectPageHeaders(res: Response) {
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'/);
  }

  it("works with a broken config variable, which only the JSON API uses", async () => {
    const { hash, state } = await openCheckout();
    const res = await fetchWithEnv(
      { PUBLIC_BASE_URL: "not a url", CHECKOUT_EXPIRES_MINUTES: "soon" },
      new Request(`${ORIGIN}/checkout/${hash}?state=${state}`, { redirect: "manual" }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    expectPageHeaders(res);
  });

  it("answers the link with a trailing slash like the link", async () => {
    const { hash, state } = await openCheckout();
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/checkout/${hash}/?state=${state}`, { redirect: "manual" }),
    );
    expect(res.status).toBe(303);
    expectPageHeaders(res);
  });

  it.each(["/checkout/", "/checkout", "/checkout/a/b", "/checkout//"])(
    "answers a truncated or mangled link (%s) with the HTML page, not the envelope",
    async (path) => {
      const res = await exports.default.fetch(
        new Request(`${ORIGIN}${path}`, { headers: { "Accept-Language": "de" } }),
      );
      expect(res.status).toBe(404);
      expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(await res.text()).toMatch(/<html lang="de">/);
      expectPageHeaders(res);
    },
  );

  it("redirects without waiting for the opened_at write, even when that write fails", async () => {
    const { hash, state } = await openCheckout();
    const { bindings, d1Counter } = bindingsWithFaults({ d1: { sql: /SET opened_at/, times: 1 } });
    const res = await worker.fetch(
      new Request(`${ORIGIN}/checkout/${hash}?state=${state}`, {
        redirect: "manual",
      }) as Request<unknown, IncomingRequestCfProperties>,
      bindings,
      createExecutionContext(),
    );
    expect(res.status).toBe(303);
    expectPageHeaders(res);
    // The write was tried (and failed) after the answer, not before it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(d1Counter.left).toBe(0);
  });

  it("redirects while the opened_at write still hangs", async () => {
    const { hash, state } = await openCheckout();
    let release: () => void = () => undefined;
    const hanging = new Promise<void>((resolve) => {
      release = resolve;
    });
    // D1 as it is, but the opened_at write does not answer until released.
    const db = new Proxy(env.DB, {
      get(target, name) {
        if (name !== "prepare") {
          const value = Reflect.get(target, name);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return (sql: string) => {
          const statement = target.prepare(sql);
          if (!/SET opened_at/.test(sql)) return statement;
          return new Proxy(statement, {
            get(inner, member) {
              if (member === "bind") {
                return (...values: unknown[]) => {
                  const bound = inner.bind(...values);
                  return new Proxy(bound, {
                    get(b, m) {
                      if (m === "run") return () => hanging.then(() => b.run());
                      const v = Reflect.get(b, m);
                      return typeof v === "function" ? v.bind(b) : v;
                    },
                  });
                };
              }
              const v = Reflect.get(inner, member);
              return typeof v === "function" ? v.bind(inner) : v;
            },
          });
        };
      },
    });
    const answered = worker.fetch(
      new Request(`${ORIGIN}/checkout/${hash}?state=${state}`, {
        redirect: "manual",
      }) as Request<unknown, IncomingRequestCfProperties>,
      { ...env, DB: db } as Bindings,
      createExecutionContext(),
    );
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 2000));
    const res = await Promise.race([answered, timeout]);
    release();
    expect(res).not.toBe("timeout");
    expect((res as Response).status).toBe(303);
  });
});

describe("smaller holes", () => {
  it.each([
    ["without X-CLIENT-ID", false],
    ["with X-CLIENT-ID", true],
  ])("refuses a token with several audiences %s", async (_what, withClientId) => {
    const app = await givenTokenApp(keys);
    const token = await signToken(keys, app, { aud: [app.id, crypto.randomUUID()] });
    const res = await postJson(CREATE, validBody({ state: newState() }), {
      Authorization: `Bearer ${token}`,
      ...(withClientId ? { "X-CLIENT-ID": app.id } : {}),
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/^Access token is not valid: its audience \(aud\)/);
    expect(stripe.requests).toHaveLength(0);
  });

  it("compares tenant ids in one form: a UUID in capitals is the same tenant", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const body = validBody({ state: newState() });
    const upper = await postJson(
      `/api/v1/tenants/${tenantId.toUpperCase()}/checkout-sessions`,
      body,
      headers,
    );
    expect(upper.status).toBe(200);
    const lower = await postJson(`/api/v1/tenants/${tenantId}/checkout-sessions`, body, headers);
    expect(lower.status).toBe(200);
    expect(lower.body.data).toEqual(upper.body.data);
    expect((await rowsOfApp(app.id)).map((r) => r.tenant_id)).toEqual([tenantId]);
    expect(stripe.creates()[0]?.form.client_reference_id).toBe(tenantId);

    // A token whose tenantId claim is in capitals reads that tenant's checkout.
    const tokenApp = await givenTokenApp(keys);
    const byToken = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      validBody({ state: newState() }),
      (await givenKey(tokenApp.id, "write")).headers,
    );
    const { id } = (byToken.body.data as { checkout: { id: string } }).checkout;
    const token = await signToken(keys, tokenApp, { tenantId: tenantId.toUpperCase() });
    const read = await call(`/api/v1/checkout-sessions/${id}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(read.status).toBe(200);
  });

  it("names a missing live webhook secret, as the create path names a missing live key", async () => {
    const event = sessionEvent(
      "checkout.session.completed",
      { id: "cs_live_x" },
      { livemode: true },
    );
    const payload = JSON.stringify(event);
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret: WEBHOOK_SECRET_LIVE,
      cryptoProvider: Stripe.createSubtleCryptoProvider(),
    });
    const res = await fetchWithEnv(
      { STRIPE_WEBHOOK_SECRET_LIVE: undefined, STRIPE_WEBHOOK_SECRET_TEST: WEBHOOK_SECRET_TEST },
      new Request(`${ORIGIN}/api/v1/webhooks/stripe`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
        body: payload,
      }),
    );
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toBe(
      "Service misconfigured: the secret STRIPE_WEBHOOK_SECRET_LIVE is missing, so live-mode events cannot be verified",
    );
  });

  it("marks every API answer, success or failure, Cache-Control: no-store", async () => {
    const { headers } = await givenWriter();
    const answers = [
      await postJson(CREATE, validBody({ state: newState() }), headers),
      await postJson(CREATE, validBody({ state: newState(), quantity: 0 }), headers),
      await call("/api/v1/checkout-sessions/cs_test_unknown", { headers }),
      await call("/api/v1/nothing-here"),
      await call(CREATE, { method: "DELETE", headers }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 400, 404, 404, 405]);
    for (const answer of answers) {
      expect(answer.response.headers.get("Cache-Control")).toBe("no-store");
    }
  });
});
