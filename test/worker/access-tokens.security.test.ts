import { env, exports } from "cloudflare:workers";
import { generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { AppRecord } from "../../src/apps/records.ts";
import { newState } from "./helpers/apps.ts";
import { call, postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import {
  base64UrlJson,
  givenTokenApp,
  type KeyPair,
  newKeyPair,
  signToken,
} from "./helpers/tokens.ts";

const CREATE = "/api/v1/checkout-sessions";
let keys: KeyPair;
let otherKeys: KeyPair;

beforeAll(async () => {
  keys = await newKeyPair();
  otherKeys = await newKeyPair();
});

function bearer(token: string, extra: Record<string, string> = {}) {
  return { Authorization: `Bearer ${token}`, ...extra };
}

async function expectRejected(
  app: AppRecord,
  headers: Record<string, string>,
  status: number,
  error: string,
) {
  const res = await postJson(CREATE, validBody({ state: newState() }), headers);
  expect(res.body).toEqual({ success: false, message: null, data: null, error });
  expect(res.status).toBe(status);
  expect(stripe.requests).toHaveLength(0);
  expect(await rowsOfApp(app.id)).toHaveLength(0);
}

describe("access tokens on POST /api/v1/checkout-sessions", () => {
  it("creates a checkout for the tenant named in the token", async () => {
    const app = await givenTokenApp(keys);
    const tenantId = crypto.randomUUID();
    const res = await postJson(
      CREATE,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app, { tenantId })),
    );
    expect(res.status).toBe(200);
    expect((res.body.data as { checkout: { tenantId: string } }).checkout.tenantId).toBe(tenantId);
    expect(stripe.creates()[0]?.form).toMatchObject({
      client_reference_id: tenantId,
      "metadata[tenant_id]": tenantId,
      "metadata[app_id]": app.id,
    });
    expect((await rowsOfApp(app.id))[0]?.tenant_id).toBe(tenantId);
  });

  it("creates a checkout without a tenant when the token names none", async () => {
    const app = await givenTokenApp(keys);
    const res = await postJson(
      CREATE,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app)),
    );
    expect(res.status).toBe(200);
    expect(stripe.creates()[0]?.form.client_reference_id).toBeUndefined();
    expect((await rowsOfApp(app.id))[0]?.tenant_id).toBeNull();
  });

  it.each(["bearer", "BEARER", "BeArEr"])(
    "accepts the token type %s case-insensitively",
    async (type) => {
      const app = await givenTokenApp(keys);
      const res = await postJson(CREATE, validBody({ state: newState() }), {
        Authorization: `${type} ${await signToken(keys, app)}`,
      });
      expect(res.status).toBe(200);
    },
  );

  it("accepts X-CLIENT-ID that agrees with aud", async () => {
    const app = await givenTokenApp(keys);
    const res = await postJson(
      CREATE,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app), { "X-CLIENT-ID": app.id }),
    );
    expect(res.status).toBe(200);
  });

  it("accepts a token that expired within the clock skew", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    const res = await postJson(
      CREATE,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app, { exp: now - 10, iat: now - 310 })),
    );
    expect(res.status).toBe(200);
  });

  it("refuses an expired token", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { exp: now - 120, iat: now - 600 })),
      401,
      "Access token is not valid: it has expired (exp)",
    );
  });

  it("refuses a token without exp", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: "https://auth.example.test", aud: app.id, iat: now })
      .setProtectedHeader({ alg: "RS256" })
      .sign(keys.privateKey);
    await expectRejected(
      app,
      bearer(token),
      401,
      "Access token is not valid: it has no expiry (exp)",
    );
  });

  it("refuses a token that is not valid yet (nbf)", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { nbf: now + 600 })),
      401,
      "Access token is not valid: it is not valid yet (nbf)",
    );
  });

  it("refuses a token issued in the future (iat)", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { iat: now + 600, exp: now + 900 })),
      401,
      "Access token is not valid: it was issued in the future (iat)",
    );
  });

  it("refuses a token whose audience is another app, when X-CLIENT-ID names this one", async () => {
    const app = await givenTokenApp(keys);
    const other = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer(await signToken(keys, other), { "X-CLIENT-ID": app.id }),
      401,
      "Access token is not valid: its audience (aud) is not this app (X-CLIENT-ID)",
    );
  });

  it("refuses a token whose audience is no known app", async () => {
    const app = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { aud: crypto.randomUUID() })),
      401,
      "Access token is not valid: it was not issued for a known app",
    );
  });

  it("refuses a token whose audience is not a UUID", async () => {
    const app = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { aud: "my-app" })),
      401,
      "Access token is not valid: its audience (aud) must be the app's UUID",
    );
  });

  it("refuses a token from another issuer", async () => {
    const app = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { iss: "https://evil.example" })),
      401,
      "Access token is not valid: its issuer (iss) is not the app's issuer",
    );
  });

  it("refuses a token signed with another key", async () => {
    const app = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer(await signToken(otherKeys, app)),
      401,
      "Access token is not valid: its signature does not verify",
    );
  });

  it("refuses alg: none", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    const token = `${base64UrlJson({ alg: "none", typ: "JWT" })}.${base64UrlJson({ iss: "https://auth.example.test", aud: app.id, exp: now + 300 })}.`;
    await expectRejected(
      app,
      bearer(token),
      401,
      "Access token is not valid: only RS256 tokens are accepted",
    );
    await expectRejected(
      app,
      bearer(`${token}AAAA`),
      401,
      "Access token is not valid: only RS256 tokens are accepted",
    );
  });

  it("refuses HS256 signed with the app's public key as the secret (algorithm confusion)", async () => {
    const app = await givenTokenApp(keys);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: "https://auth.example.test",
      aud: app.id,
      exp: now + 300,
    })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(keys.publicPem));
    await expectRejected(
      app,
      bearer(token),
      401,
      "Access token is not valid: only RS256 tokens are accepted",
    );
  });

  it("refuses other RSA algorithms (PS256) signed with the right key", async () => {
    const app = await givenTokenApp(keys);
    const ps = await generateKeyPair("PS256", { modulusLength: 2048 });
    const token = await new SignJWT({
      iss: "https://auth.example.test",
      aud: app.id,
      exp: Math.floor(Date.now() / 1000) + 300,
    })
      .setProtectedHeader({ alg: "PS256" })
      .sign(ps.privateKey);
    await expectRejected(
      app,
      bearer(token),
      401,
      "Access token is not valid: only RS256 tokens are accepted",
    );
  });

  it("refuses a truncated token", async () => {
    const app = await givenTokenApp(keys);
    const token = await signToken(keys, app);
    await expectRejected(
      app,
      bearer(token.slice(0, token.length - 20)),
      401,
      "Access token is not valid: its signature does not verify",
    );
    await expectRejected(
      app,
      bearer(token.split(".").slice(0, 2).join(".")),
      401,
      "Access token is not valid: it is not a well-formed JWT",
    );
  });

  it("refuses a garbled token", async () => {
    const app = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer("abc.def.ghi"),
      401,
      "Access token is not valid: it is not a well-formed JWT",
    );
    await expectRejected(
      app,
      bearer("not a token"),
      401,
      "Authorization must be 'Bearer <access token>'",
    );
    await expectRejected(
      app,
      { Authorization: "Basic dXNlcjpwYXNz" },
      401,
      "Authorization must be 'Bearer <access token>'",
    );
  });

  it("refuses a tenantId claim that is not a UUID", async () => {
    const app = await givenTokenApp(keys);
    await expectRejected(
      app,
      bearer(await signToken(keys, app, { tenantId: "tenant-1" })),
      401,
      "Access token is not valid: its tenantId claim must be a UUID",
    );
  });

  it("refuses tokens for an app without a public key", async () => {
    const app = await givenTokenApp(keys, { publicKey: null });
    await expectRejected(
      app,
      bearer(await signToken(keys, app)),
      401,
      "Access token is not valid: this app does not accept access tokens",
    );
  });

  it("refuses a valid token of a disabled app with 403", async () => {
    const app = await givenTokenApp(keys, { status: "disabled" });
    await expectRejected(app, bearer(await signToken(keys, app)), 403, "This app is disabled");
  });

  it("refuses tokens on the tenant route with 403", async () => {
    const app = await givenTokenApp(keys);
    const res = await postJson(
      `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app)),
    );
    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      "Access tokens may not call this route; use a write API key from your server",
    );
    expect(stripe.requests).toHaveLength(0);
  });
});

describe("browsers: CORS for token calls", () => {
  const ORIGIN = "https://shop.example.test";

  it("answers a preflight from an origin an app allows", async () => {
    await givenTokenApp(keys, { allowedOrigins: [ORIGIN] });
    // A 204 has no body (no envelope), so read the response itself.
    const response = await exports.default.fetch(
      new Request(`https://pay.example.test${CREATE}`, {
        method: "OPTIONS",
        headers: {
          Origin: ORIGIN,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization, content-type",
        },
      }),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
    expect(response.headers.get("Access-Control-Allow-Methods")).toBe("GET, POST, OPTIONS");
    expect(response.headers.get("Access-Control-Allow-Headers")).toContain("Authorization");
    expect(response.headers.get("Access-Control-Allow-Credentials")).toBeNull();
  });

  it("refuses a preflight from an origin no app allows, with no CORS headers", async () => {
    const res = await call(CREATE, {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("This browser origin is not allowed");
    expect(res.response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("creates a checkout from an allowed origin and lets the browser read the answer", async () => {
    const app = await givenTokenApp(keys, { allowedOrigins: [ORIGIN] });
    const res = await postJson(
      CREATE,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app), { Origin: ORIGIN }),
    );
    expect(res.status).toBe(200);
    expect(res.response.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
    expect(res.response.headers.get("Access-Control-Expose-Headers")).toContain("X-Request-Id");
  });

  it("refuses a token call from an origin this app does not allow (though another app does)", async () => {
    await givenTokenApp(keys, { allowedOrigins: [ORIGIN] });
    const app = await givenTokenApp(keys, { allowedOrigins: ["https://other.example.test"] });
    await expectRejected(
      app,
      bearer(await signToken(keys, app), { Origin: ORIGIN }),
      403,
      "This browser origin is not allowed for this app",
    );
  });

  it("sends no CORS headers to an origin no app allows", async () => {
    const app = await givenTokenApp(keys);
    const res = await postJson(
      CREATE,
      validBody({ state: newState() }),
      bearer(await signToken(keys, app), { Origin: "https://evil.example" }),
    );
    expect(res.status).toBe(403);
    expect(res.response.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("still refuses an API key from an allowed origin", async () => {
    await givenTokenApp(keys, { allowedOrigins: [ORIGIN] });
    const res = await call(CREATE, {
      method: "POST",
      headers: {
        Origin: ORIGIN,
        "X-API-KEY": "cko_write_x",
        "X-API-KEY-TYPE": "write",
        "X-CLIENT-ID": crypto.randomUUID(),
      },
    });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/^API keys must never be used from a browser/);
  });
});

it("keeps the token out of every stored row", async () => {
  const app = await givenTokenApp(keys);
  const token = await signToken(keys, app, { tenantId: crypto.randomUUID() });
  await postJson(CREATE, validBody({ state: newState() }), bearer(token));
  const { results } = await env.DB.prepare("SELECT * FROM checkout_sessions WHERE app_id = ?1")
    .bind(app.id)
    .all();
  expect(JSON.stringify(results)).not.toContain(token.split(".")[2]);
});
