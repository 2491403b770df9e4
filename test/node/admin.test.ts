import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CommandError,
  createApp,
  createKey,
  type Deps,
  disableApp,
  listKeys,
  revokeKey,
  showApp,
  UsageError,
} from "../../cli/commands.ts";
import { MemoryKvStore } from "../../cli/kv.ts";
import { API_KEY_PATTERN, sha256Hex } from "../../src/apps/keys.ts";
import { appRecordSchema, keyRecordSchema, kvKeys } from "../../src/apps/records.ts";
import { verifyApiKey } from "../../src/auth/api-key.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const UNKNOWN_APP = "7c0e8b54-6b2e-4f55-9a4e-3f8f0a3c1f10";

/** A clock that moves one second per reading, so that "keeps the first time" is observable. */
function setup(): Deps & { kv: MemoryKvStore } {
  let t = Date.parse("2026-01-01T00:00:00.000Z");
  const now = () => {
    t += 1000;
    return new Date(t);
  };
  return { kv: new MemoryKvStore(), now };
}

/** The worker's own key check, reading the same in-memory KV the commands wrote. */
function verify(kv: MemoryKvStore, appId: string, key: string, type: string) {
  const namespace = {
    get: async (name: string, kind?: string) => {
      const raw = kv.data.get(name) ?? null;
      return raw !== null && kind === "json" ? JSON.parse(raw) : raw;
    },
  } as unknown as Parameters<typeof verifyApiKey>[0];
  const headers = new Headers({ "X-API-KEY": key, "X-API-KEY-TYPE": type, "X-CLIENT-ID": appId });
  return verifyApiKey(namespace, headers);
}

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
    const stored = JSON.parse(deps.kv.data.get(kvKeys.app(app.id)) ?? "null");
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
    expect(deps.kv.data.size).toBe(0);
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

describe("key commands", () => {
  it("creates a key, stores only its digest, and the worker accepts it", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const created = await createKey(deps, { appId: app.id, type: "write", label: "server" });

    expect(created.key).toMatch(API_KEY_PATTERN);
    expect(created).toMatchObject({ appId: app.id, type: "write", label: "server" });
    const digest = await sha256Hex(created.key);
    const record = keyRecordSchema.parse(JSON.parse(deps.kv.data.get(kvKeys.apiKey(digest)) ?? ""));
    expect(record).toEqual({
      id: created.id,
      appId: app.id,
      type: "write",
      label: "server",
      createdAt: created.createdAt,
      revokedAt: null,
    });
    expect(deps.kv.data.get(kvKeys.appKey(app.id, created.id))).toBe(digest);
    expect(deps.kv.data.get(kvKeys.keyById(created.id))).toBe(digest);
    // The key itself is nowhere in KV, neither as a name nor in a value.
    for (const [name, value] of deps.kv.data) {
      expect(name).not.toContain(created.key);
      expect(value).not.toContain(created.key);
    }
    await expect(verify(deps.kv, app.id, created.key, "write")).resolves.toMatchObject({
      key: { id: created.id },
    });
  });

  it("refuses a bad type or label, and unknown or disabled apps", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    await expect(createKey(deps, { appId: app.id, type: "admin" })).rejects.toThrow("--type");
    await expect(
      createKey(deps, { appId: app.id, type: "read", label: "x".repeat(201) }),
    ).rejects.toThrow("--label");
    await expect(createKey(deps, { appId: UNKNOWN_APP, type: "read" })).rejects.toThrow(
      /not found/,
    );
    await disableApp(deps, app.id);
    const disabled = createKey(deps, { appId: app.id, type: "read" });
    await expect(disabled).rejects.toBeInstanceOf(CommandError);
    await expect(disabled).rejects.toThrow(/disabled/);
    expect(await deps.kv.list("apikey:")).toEqual([]);
  });

  it("lists an app's keys without key material or digests", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const other = await createApp(deps, { name: "Other" });
    const read = await createKey(deps, { appId: app.id, type: "read" });
    const write = await createKey(deps, { appId: app.id, type: "write", label: "ci" });
    await createKey(deps, { appId: other.id, type: "write" });

    const listing = await listKeys(deps, app.id);
    expect(listing).toEqual({
      appId: app.id,
      keys: [
        { id: read.id, type: "read", label: null, createdAt: read.createdAt, revokedAt: null },
        { id: write.id, type: "write", label: "ci", createdAt: write.createdAt, revokedAt: null },
      ],
    });
    const text = JSON.stringify(listing);
    for (const key of [read.key, write.key]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(await sha256Hex(key));
    }
    await expect(listKeys(deps, UNKNOWN_APP)).rejects.toBeInstanceOf(CommandError);
  });

  it("revokes idempotently, keeping the first revokedAt, and the key stops verifying", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const created = await createKey(deps, { appId: app.id, type: "read" });

    const first = await revokeKey(deps, created.id);
    expect(first).toMatchObject({ id: created.id, appId: app.id, alreadyRevoked: false });
    expect(first.revokedAt).not.toBeNull();
    const second = await revokeKey(deps, created.id);
    expect(second).toMatchObject({ alreadyRevoked: true, revokedAt: first.revokedAt });

    const listing = await listKeys(deps, app.id);
    expect(listing.keys[0]?.revokedAt).toBe(first.revokedAt);
    await expect(verify(deps.kv, app.id, created.key, "read")).rejects.toThrow(/revoked/);
  });

  it("fails to revoke an unknown or malformed key id", async () => {
    const deps = setup();
    await expect(revokeKey(deps, "key_aaaaaaaaaaaaaaaaaaaa")).rejects.toBeInstanceOf(CommandError);
    await expect(revokeKey(deps, "nope")).rejects.toBeInstanceOf(UsageError);
  });
});

describe("admin CLI end to end (wrangler, local state)", () => {
  let persistTo = "";

  beforeAll(async () => {
    persistTo = await mkdtemp(path.join(tmpdir(), "admin-e2e-"));
  });

  afterAll(async () => {
    await rm(persistTo, { recursive: true, force: true });
  });

  type Run = { code: number; stdout: string; stderr: string };

  function admin(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--experimental-strip-types", "cli/admin.ts", ...args, "--persist-to", persistTo],
        { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** With --json, stdout must be exactly one JSON object. */
  async function adminJson(...args: string[]): Promise<Record<string, unknown>> {
    const run = await admin(...args, "--json");
    expect(run.code, run.stderr).toBe(0);
    const value = JSON.parse(run.stdout);
    expect(typeof value).toBe("object");
    return value;
  }

  it("creates an app and a key, lists and revokes it", async () => {
    const app = await adminJson("app", "create", "--name", 'Demo "$HOME" `x`', "--live");
    expect(app).toMatchObject({ name: 'Demo "$HOME" `x`', status: "active", liveEnabled: true });
    const appId = String(app.id);

    const key = await adminJson("key", "create", "--app", appId, "--type", "write");
    expect(key).toMatchObject({ appId, type: "write", label: null });
    expect(String(key.key)).toMatch(API_KEY_PATTERN);

    const listing = await adminJson("key", "list", "--app", appId);
    expect(listing).toEqual({
      appId,
      keys: [{ id: key.id, type: "write", label: null, createdAt: key.createdAt, revokedAt: null }],
    });
    expect(JSON.stringify(listing)).not.toContain(String(key.key));

    const revoke = await admin("key", "revoke", String(key.id));
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain("revoked");

    expect(await adminJson("app", "show", appId)).toEqual(app);
  }, 90_000);
});
