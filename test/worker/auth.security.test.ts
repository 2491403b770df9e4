import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/apps/keys.ts";
import { givenApp, givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const CREATE = "/api/v1/checkout-sessions";
const INVALID = "X-API-KEY is not a valid API key for this X-CLIENT-ID and X-API-KEY-TYPE";

async function expectRefused(
  headers: Record<string, string>,
  status: number,
  error: string,
  appId?: string,
) {
  const res = await postJson(CREATE, validBody({ state: newState() }), headers);
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ success: false, message: null, data: null, error });
  expect(stripe.requests).toHaveLength(0);
  if (appId) expect(await rowsOfApp(appId)).toHaveLength(0);
}

describe("API-key credentials on the create routes", () => {
  it("refuses a request with no credentials with 401", async () => {
    await expectRefused(
      {},
      401,
      "Missing credentials: send an Authorization: Bearer access token, or X-API-KEY, X-API-KEY-TYPE and X-CLIENT-ID from your server",
    );
  });

  it("refuses a missing X-API-KEY-TYPE with 401", async () => {
    const { app, headers } = await givenWriter();
    const { "X-API-KEY-TYPE": _t, ...rest } = headers;
    await expectRefused(rest, 401, "X-API-KEY-TYPE must be read or write", app.id);
  });

  it("refuses an unknown X-API-KEY-TYPE with 401", async () => {
    const { app, headers } = await givenWriter();
    await expectRefused(
      { ...headers, "X-API-KEY-TYPE": "admin" },
      401,
      "X-API-KEY-TYPE must be read or write",
      app.id,
    );
  });

  it("refuses a missing or malformed X-CLIENT-ID with 401", async () => {
    const { app, headers } = await givenWriter();
    const { "X-CLIENT-ID": _c, ...rest } = headers;
    await expectRefused(rest, 401, "X-CLIENT-ID must be the app's UUID", app.id);
    await expectRefused(
      { ...headers, "X-CLIENT-ID": "app-1" },
      401,
      "X-CLIENT-ID must be the app's UUID",
      app.id,
    );
  });

  it("refuses a malformed key with 401", async () => {
    const { app, headers } = await givenWriter();
    await expectRefused(
      { ...headers, "X-API-KEY": "hunter2" },
      401,
      "X-API-KEY is not a well-formed API key",
      app.id,
    );
  });

  it("refuses an unknown key with 401", async () => {
    const { app, headers } = await givenWriter();
    await expectRefused({ ...headers, "X-API-KEY": generateApiKey("write") }, 401, INVALID, app.id);
  });

  it("refuses a key of another app with the same 401 as an unknown key", async () => {
    const { app } = await givenWriter();
    const other = await givenWriter();
    await expectRefused({ ...other.headers, "X-CLIENT-ID": app.id }, 401, INVALID, app.id);
  });

  it("refuses a key whose type differs from X-API-KEY-TYPE with 401", async () => {
    const app = await givenApp();
    const reader = await givenKey(app.id, "read");
    await expectRefused({ ...reader.headers, "X-API-KEY-TYPE": "write" }, 401, INVALID, app.id);
  });

  it("refuses a revoked key with 401", async () => {
    const app = await givenApp();
    const revoked = await givenKey(app.id, "write", { revoked: true });
    await expectRefused(revoked.headers, 401, "This API key has been revoked", app.id);
  });

  it("refuses a read key on the create routes with 403", async () => {
    const app = await givenApp();
    const reader = await givenKey(app.id, "read");
    await expectRefused(
      reader.headers,
      403,
      "A read API key may not do this; use a write API key",
      app.id,
    );
    const res = await postJson(
      `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`,
      validBody({ state: newState() }),
      reader.headers,
    );
    expect(res.status).toBe(403);
  });

  it("refuses a key of a disabled app with 403", async () => {
    const { app, headers } = await givenWriter({ status: "disabled" });
    await expectRefused(headers, 403, "This app is disabled", app.id);
  });

  it("refuses live mode for an app not enabled for live with 403", async () => {
    const { app, headers } = await givenWriter({ liveEnabled: false });
    const res = await postJson(CREATE, validBody({ state: newState(), test: false }), headers);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      'Live mode is not enabled for this app; send "test": true or ask the operator to enable live mode',
    );
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("refuses an API key sent from a browser (Origin header) with 403", async () => {
    const { app, headers } = await givenWriter();
    await expectRefused(
      { ...headers, Origin: "https://app.example.test" },
      403,
      "API keys must never be used from a browser (this request carries an Origin header); call this API from your server",
      app.id,
    );
  });

  it("refuses an API key and a token together with 401", async () => {
    const { app, headers } = await givenWriter();
    await expectRefused(
      { ...headers, Authorization: "Bearer x.y.z" },
      401,
      "Send either an API key or an Authorization token, not both",
      app.id,
    );
  });

  it("checks credentials before the body, so an anonymous caller learns nothing about validation", async () => {
    const res = await postJson(CREATE, { nonsense: true });
    expect(res.status).toBe(401);
  });

  it("refuses an app without success and cancel URLs with 403", async () => {
    const { app, headers } = await givenWriter({ successUrl: null, cancelUrl: null });
    await expectRefused(
      headers,
      403,
      "This app has no success and cancel URL configured; the operator must set them first",
      app.id,
    );
  });
});
