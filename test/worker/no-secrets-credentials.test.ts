import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/apps/keys.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import {
  CREATE,
  captureEachTest,
  created,
  expectLogsAndNoLeaks,
  postJson,
  send,
} from "./helpers/exchanges.ts";
import { validBody } from "./helpers/http.ts";
import { apiKey, secret, secretState, token } from "./helpers/leaks.ts";
import { givenTokenApp, newKeyPair, signToken } from "./helpers/tokens.ts";

/**
 * No secret in the logs or answers of calls with good and bad credentials: read and write keys
 * (unknown, revoked, malformed) and access tokens (expired, forged, tampered, for another app).
 */

captureEachTest();

describe("no secret in logs or responses", () => {
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
});
