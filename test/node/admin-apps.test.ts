import { describe, expect, it } from "vitest";
import { createApp, disableApp, enableApp, showApp } from "../../cli/apps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import { createKey } from "../../cli/keys.ts";
import { appRecordSchema, kvKeys } from "../../src/apps/records.ts";
import { UNKNOWN_APP, useLocalApps } from "./helpers/local-apps.ts";

const { apps, allNames, setup } = useLocalApps();

describe("app commands", () => {
  it("creates an active app with defaults and stores it under app:<id>", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    expect(app).toMatchObject({
      name: "Demo",
      status: "active",
      liveEnabled: false,
      stripeAccountTest: null,
      stripeAccountLive: null,
      successUrl: null,
      cancelUrl: null,
      tokenIssuer: null,
      publicKey: null,
      allowedOrigins: [],
    });
    const stored = JSON.parse((await apps().get(kvKeys.app(app.id))) ?? "null");
    expect(appRecordSchema.parse(stored)).toEqual(app);
  });

  it("creates an app with every flag", async () => {
    const deps = setup();
    const app = await createApp(deps, {
      name: "Shop",
      successUrl: "https://shop.example/ok",
      cancelUrl: "http://localhost:3000/cancel",
      stripeAccountTest: "acct_test123",
      stripeAccountLive: "acct_live456",
      live: true,
    });
    expect(app).toMatchObject({
      liveEnabled: true,
      successUrl: "https://shop.example/ok",
      cancelUrl: "http://localhost:3000/cancel",
      stripeAccountTest: "acct_test123",
      stripeAccountLive: "acct_live456",
    });
    expect(await showApp(deps, app.id)).toEqual(app);
  });

  it.each([
    [{ successUrl: "http://shop.example/ok" }, "--success-url"],
    [{ cancelUrl: "not a url" }, "--cancel-url"],
    [{ stripeAccountTest: "acct_" }, "--stripe-account-test"],
    [{ stripeAccountLive: "sk_live_123" }, "--stripe-account-live"],
    [{ name: "   " }, "--name"],
  ])("rejects %o naming the flag, and writes nothing", async (input, flag) => {
    const deps = setup();
    const attempt = createApp(deps, { name: "Demo", ...input });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(flag);
    expect(await allNames()).toEqual([]);
  });

  it("shows, and fails for an unknown or malformed id", async () => {
    const deps = setup();
    await expect(showApp(deps, UNKNOWN_APP)).rejects.toBeInstanceOf(CommandError);
    await expect(showApp(deps, "not-a-uuid")).rejects.toBeInstanceOf(UsageError);
  });

  it("disables (idempotently) and moves updatedAt", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const disabled = await disableApp(deps, app.id);
    expect(disabled.status).toBe("disabled");
    expect(disabled.updatedAt > app.updatedAt).toBe(true);
    expect(await showApp(deps, app.id)).toEqual(disabled);
    expect(await disableApp(deps, app.id)).toEqual(disabled);
  });
});

describe("app enable", () => {
  it("re-activates a disabled app, idempotently", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    expect(await enableApp(deps, app.id)).toEqual(app);
    const disabled = await disableApp(deps, app.id);
    const enabled = await enableApp(deps, app.id);
    expect(enabled.status).toBe("active");
    expect(enabled.updatedAt > disabled.updatedAt).toBe(true);
    expect(await showApp(deps, app.id)).toEqual(enabled);
    expect(await enableApp(deps, app.id)).toEqual(enabled);
    // Keys can be created again.
    await expect(createKey(deps, { appId: app.id, type: "read" })).resolves.toBeDefined();
    await expect(enableApp(deps, UNKNOWN_APP)).rejects.toBeInstanceOf(CommandError);
  });
});
