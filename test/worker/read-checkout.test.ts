import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import { givenTokenApp, type KeyPair, newKeyPair, signToken } from "./helpers/tokens.ts";

let keys: KeyPair;
beforeAll(async () => {
  keys = await newKeyPair();
});

async function createdCheckout(
  headers: Record<string, string>,
  path = "/api/v1/checkout-sessions",
) {
  const res = await postJson(path, validBody({ state: newState() }), headers);
  expect(res.status).toBe(200);
  return (res.body.data as { checkout: { id: string; hash: string; nextAction: { url: string } } })
    .checkout;
}

const read = (id: string, headers: Record<string, string>) =>
  call(`/api/v1/checkout-sessions/${id}`, { headers });
const NOT_FOUND = {
  success: false,
  message: null,
  data: null,
  error: "No checkout session with this id",
};

describe("GET /api/v1/checkout-sessions/:id", () => {
  it("returns the stored record to the app's read and write keys", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const created = await createdCheckout(headers, `/api/v1/tenants/${tenantId}/checkout-sessions`);
    const reader = await givenKey(app.id, "read");

    for (const h of [headers, reader.headers]) {
      const res = await read(created.id, h);
      expect(res.status).toBe(200);
      expect(res.body.message).toBe("Checkout session found");
      const checkout = (res.body.data as { checkout: Record<string, unknown> }).checkout;
      expect(checkout).toMatchObject({
        id: created.id,
        hash: created.hash,
        status: "open",
        paymentStatus: null,
        mode: "payment",
        livemode: false,
        tenantId,
        openedAt: null,
        completedAt: null,
        nextAction: created.nextAction,
      });
      expect(Date.parse(String(checkout.createdAt))).toBeLessThanOrEqual(Date.now());
      expect(Date.parse(String(checkout.expiresAt))).toBeGreaterThan(Date.now());
      // Stripe's own URL is reached only through the payment page, which checks the state.
      expect(JSON.stringify(checkout)).not.toContain("checkout.stripe.test");
    }
  });

  it("answers another app's checkout with 404, exactly as an unknown id", async () => {
    const owner = await givenWriter();
    const created = await createdCheckout(owner.headers);
    const stranger = await givenWriter();
    const other = await read(created.id, stranger.headers);
    const unknown = await read("cs_test_doesnotexist", stranger.headers);
    expect(other.status).toBe(404);
    expect(other.body).toEqual(NOT_FOUND);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(NOT_FOUND);
  });

  it("shows a checkout past its expiry as expired, without a payment link", async () => {
    const { headers } = await givenWriter();
    const created = await createdCheckout(headers);
    await env.DB.prepare(
      "UPDATE checkout_sessions SET expires_at = ?1 WHERE stripe_session_id = ?2",
    )
      .bind(Math.floor(Date.now() / 1000) - 1, created.id)
      .run();
    const res = await read(created.id, headers);
    expect((res.body.data as { checkout: Record<string, unknown> }).checkout).toMatchObject({
      status: "expired",
      nextAction: null,
    });
  });

  it("answers a malformed id with 400", async () => {
    const { headers } = await givenWriter();
    const res = await read("not-a-session", headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("id in the path must be a Stripe Checkout Session id (cs_…)");
  });

  it("answers 401 without credentials and 403 to an API key from a browser", async () => {
    const { headers } = await givenWriter();
    const created = await createdCheckout(headers);
    expect((await read(created.id, {})).status).toBe(401);
    expect(
      (await read(created.id, { ...headers, Origin: "https://app.example.test" })).status,
    ).toBe(403);
  });

  it("answers 405 to POST on a checkout", async () => {
    const res = await call("/api/v1/checkout-sessions/cs_test_abc", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.response.headers.get("Allow")).toBe("GET");
  });
});

describe("GET /api/v1/checkout-sessions/:id with access tokens", () => {
  it("returns the checkout to a token of the same app and tenant, and 404 to other tenants", async () => {
    const app = await givenTokenApp(keys);
    const writer = await givenKey(app.id, "write");
    const tenantId = crypto.randomUUID();
    const created = await createdCheckout(
      writer.headers,
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
    );

    const own = await read(created.id, {
      Authorization: `Bearer ${await signToken(keys, app, { tenantId })}`,
    });
    expect(own.status).toBe(200);
    expect((own.body.data as { checkout: { id: string } }).checkout.id).toBe(created.id);

    const otherTenant = await read(created.id, {
      Authorization: `Bearer ${await signToken(keys, app, { tenantId: crypto.randomUUID() })}`,
    });
    expect(otherTenant.status).toBe(404);
    expect(otherTenant.body).toEqual(NOT_FOUND);

    const noTenant = await read(created.id, {
      Authorization: `Bearer ${await signToken(keys, app)}`,
    });
    expect(noTenant.status).toBe(404);
  });

  it("returns a checkout without tenant to a token without tenant", async () => {
    const app = await givenTokenApp(keys);
    const token = await signToken(keys, app);
    const created = await createdCheckout({ Authorization: `Bearer ${token}` });
    const res = await read(created.id, { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
  });

  it("returns a checkout without tenant only to tokens of the subject that created it (issue 19, B10a)", async () => {
    const app = await givenTokenApp(keys);
    const writer = await givenKey(app.id, "write");
    const bearer = async (claims: Record<string, unknown>) => ({
      Authorization: `Bearer ${await signToken(keys, app, claims)}`,
    });
    const alice = await bearer({ sub: "alice" });
    const bob = await bearer({ sub: "bob" });
    const nobody = await bearer({ sub: undefined });
    const ofAlice = await createdCheckout(alice);
    const ofBob = await createdCheckout(bob);
    const ofKey = await createdCheckout(writer.headers);
    const ofNobody = await createdCheckout(nobody);
    const tenantId = crypto.randomUUID();
    const ofTenant = await createdCheckout(
      writer.headers,
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
    );

    const { results } = await env.DB.prepare(
      "SELECT stripe_session_id, created_by FROM checkout_sessions WHERE app_id = ?1",
    )
      .bind(app.id)
      .all<{ stripe_session_id: string; created_by: string | null }>();
    const createdBy = Object.fromEntries(results.map((r) => [r.stripe_session_id, r.created_by]));
    expect(createdBy).toEqual({
      [ofAlice.id]: "alice",
      [ofBob.id]: "bob",
      [ofKey.id]: null,
      [ofNobody.id]: null,
      [ofTenant.id]: null,
    });

    const visible = async (headers: Record<string, string>) => {
      const seen: string[] = [];
      for (const [name, checkout] of Object.entries({
        ofAlice,
        ofBob,
        ofKey,
        ofNobody,
        ofTenant,
      })) {
        const res = await read(checkout.id, headers);
        if (res.status === 200) seen.push(name);
        else expect(res.body).toEqual(NOT_FOUND);
      }
      return seen;
    };
    expect(await visible(alice)).toEqual(["ofAlice"]);
    expect(
      await visible(await bearer({ sub: "alice", iat: Math.floor(Date.now() / 1000) - 5 })),
    ).toEqual(["ofAlice"]);
    expect(await visible(bob)).toEqual(["ofBob"]);
    // Without a subject a token cannot be told from another: it reads none without a tenant.
    expect(await visible(nobody)).toEqual([]);
    // A token of a tenant reads its tenant's, whoever created them; API keys read all.
    expect(await visible(await bearer({ sub: "alice", tenantId }))).toEqual(["ofTenant"]);
    expect(await visible(writer.headers)).toEqual([
      "ofAlice",
      "ofBob",
      "ofKey",
      "ofNobody",
      "ofTenant",
    ]);
    expect(await visible((await givenKey(app.id, "read")).headers)).toEqual([
      "ofAlice",
      "ofBob",
      "ofKey",
      "ofNobody",
      "ofTenant",
    ]);
  });

  it("answers another subject's state with 409, not with its checkout; the creator's retry gets it", async () => {
    const app = await givenTokenApp(keys);
    const alice = { Authorization: `Bearer ${await signToken(keys, app, { sub: "alice" })}` };
    const bob = { Authorization: `Bearer ${await signToken(keys, app, { sub: "bob" })}` };
    const body = validBody({ state: newState() });
    const first = await postJson("/api/v1/checkout-sessions", body, alice);
    expect(first.status).toBe(200);
    const again = await postJson("/api/v1/checkout-sessions", body, alice);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(first.body.data);
    const other = await postJson("/api/v1/checkout-sessions", body, bob);
    expect(other.status).toBe(409);
    expect(other.body.data).toBeNull();
    expect(JSON.stringify(other.body)).not.toContain(
      (first.body.data as { checkout: { id: string } }).checkout.id,
    );
    const rows = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM checkout_sessions WHERE app_id = ?1",
    )
      .bind(app.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("answers 404 to a token of another app", async () => {
    const owner = await givenWriter();
    const created = await createdCheckout(owner.headers);
    const app = await givenTokenApp(keys);
    const res = await read(created.id, { Authorization: `Bearer ${await signToken(keys, app)}` });
    expect(res.status).toBe(404);
  });
});
