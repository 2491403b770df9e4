import { execFile } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { updateApp } from "../../cli/app-update.ts";
import { createApp, disableApp, enableApp, showApp } from "../../cli/apps.ts";
import type { Deps } from "../../cli/deps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import { createKey, listKeys, revokeKey } from "../../cli/keys.ts";
import { listNames } from "../../cli/kv.ts";
import { type CliBindings, openPlatform, type Platform } from "../../cli/platform.ts";
import { parsePublicKeyPem, publicKeyFingerprint } from "../../cli/public-keys.ts";
import { API_KEY_PATTERN, sha256Hex } from "../../src/apps/keys.ts";
import { appRecordSchema, keyRecordSchema, kvKeys } from "../../src/apps/records.ts";
import { clearRecordCache } from "../../src/apps/store.ts";
import { verifyApiKey } from "../../src/auth/api-key.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const UNKNOWN_APP = "7c0e8b54-6b2e-4f55-9a4e-3f8f0a3c1f10";

/**
 * The commands run against a real local APPS namespace, opened the way the CLI opens it
 * (wrangler's platform proxy over the project's wrangler.toml), in a state directory of its own.
 */
let platform: Platform | undefined;
let stateDir = "";

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "admin-state-"));
  const configPath = path.join(ROOT, "wrangler.toml");
  platform = await openPlatform({ configPath, remote: false, persistTo: stateDir });
});

afterAll(async () => {
  await platform?.dispose();
  await rm(stateDir, { recursive: true, force: true });
});

function env(): CliBindings {
  if (!platform) throw new Error("the platform proxy is not open");
  return platform.env;
}

function apps() {
  return env().APPS;
}

async function allNames(): Promise<string[]> {
  return listNames(apps(), "");
}

// Every test starts with an empty namespace.
beforeEach(async () => {
  for (const name of await allNames()) await apps().delete(name);
});

/** A clock that moves one second per reading, so that "keeps the first time" is observable. */
function setup(): Deps {
  let t = Date.parse("2026-01-01T00:00:00.000Z");
  const now = () => {
    t += 1000;
    return new Date(t);
  };
  return { bindings: async () => env(), now };
}

/** The worker's own key check, reading the KV that the commands wrote. */
function verify(appId: string, key: string, type: string) {
  const headers = new Headers({ "X-API-KEY": key, "X-API-KEY-TYPE": type, "X-CLIENT-ID": appId });
  return verifyApiKey(apps(), headers);
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

describe("app update", () => {
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "admin-keys-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let files = 0;
  /** Writes `text` to a new file in the temporary directory and returns its path. */
  async function keyFile(text: string): Promise<string> {
    files += 1;
    const file = path.join(dir, `key-${files}.pem`);
    await writeFile(file, text);
    return file;
  }

  async function stored(appId: string) {
    return appRecordSchema.parse(JSON.parse((await apps().get(kvKeys.app(appId))) ?? "null"));
  }

  it("changes each field given, and only those, and moves updatedAt", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo", successUrl: "https://a.example/ok" });
    const { app: updated, changed } = await updateApp(deps, app.id, {
      name: "  Demo 2 ",
      cancelUrl: "http://localhost:3000/cancel",
      stripeAccountTest: "acct_test1",
      stripeAccountLive: "acct_live1",
      live: true,
      tokenIssuer: "https://auth.example/",
      origins: ["https://a.example", "http://localhost:5173"],
    });
    expect(updated).toEqual({
      ...app,
      name: "Demo 2",
      cancelUrl: "http://localhost:3000/cancel",
      stripeAccountTest: "acct_test1",
      stripeAccountLive: "acct_live1",
      liveEnabled: true,
      tokenIssuer: "https://auth.example/",
      allowedOrigins: ["https://a.example", "http://localhost:5173"],
      updatedAt: updated.updatedAt,
    });
    expect(updated.updatedAt > app.updatedAt).toBe(true);
    expect(changed.sort()).toEqual(
      [
        "name",
        "cancelUrl",
        "stripeAccountTest",
        "stripeAccountLive",
        "liveEnabled",
        "tokenIssuer",
        "allowedOrigins",
      ].sort(),
    );
    expect(await stored(app.id)).toEqual(updated);

    const second = await updateApp(deps, app.id, { successUrl: "https://b.example/done" });
    expect(second.changed).toEqual(["successUrl"]);
    expect(second.app).toEqual({
      ...updated,
      successUrl: "https://b.example/done",
      updatedAt: second.app.updatedAt,
    });
  });

  it("clears a Stripe account with none", async () => {
    const deps = setup();
    const app = await createApp(deps, {
      name: "Demo",
      stripeAccountTest: "acct_test1",
      stripeAccountLive: "acct_live1",
    });
    const { app: updated } = await updateApp(deps, app.id, {
      stripeAccountTest: "none",
      stripeAccountLive: "none",
    });
    expect(updated).toMatchObject({ stripeAccountTest: null, stripeAccountLive: null });
    expect(await stored(app.id)).toEqual(updated);
  });

  it("turns live mode on and off", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    expect((await updateApp(deps, app.id, { live: true })).app.liveEnabled).toBe(true);
    expect((await stored(app.id)).liveEnabled).toBe(true);
    expect((await updateApp(deps, app.id, { live: false })).app.liveEnabled).toBe(false);
    expect((await stored(app.id)).liveEnabled).toBe(false);
  });

  it("writes nothing when every value given is already set", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const result = await updateApp(deps, app.id, { name: "Demo", live: false, clearOrigins: true });
    expect(result).toEqual({ app, changed: [] });
    expect(await stored(app.id)).toEqual(app);
  });

  it.each([
    [{ name: " " }, "--name"],
    [{ successUrl: "http://shop.example/ok" }, "--success-url"],
    [{ cancelUrl: "not a url" }, "--cancel-url"],
    [{ stripeAccountTest: "acct_" }, "--stripe-account-test"],
    [{ stripeAccountLive: "None" }, "--stripe-account-live"],
    [{ tokenIssuer: "" }, "--issuer"],
    [{ tokenIssuer: "https://auth.example/ x" }, "--issuer"],
    [{ tokenIssuer: "i".repeat(501) }, "--issuer"],
    [{ publicKeyFile: "/nonexistent/public.pem" }, "--public-key-file"],
  ])("refuses %o naming the flag, and writes nothing", async (input, flag) => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const attempt = updateApp(deps, app.id, input);
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(flag);
    expect(await stored(app.id)).toEqual(app);
  });

  it("accepts an issuer of 500 characters", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const issuer = `https://auth.example/${"i".repeat(479)}`;
    expect((await updateApp(deps, app.id, { tokenIssuer: issuer })).app.tokenIssuer).toBe(issuer);
  });

  it("needs at least one change, a known app and a well-formed id", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const none = updateApp(deps, app.id, {});
    await expect(none).rejects.toBeInstanceOf(UsageError);
    await expect(none).rejects.toThrow(/at least one change/);
    await expect(updateApp(deps, UNKNOWN_APP, { name: "X" })).rejects.toBeInstanceOf(CommandError);
    await expect(updateApp(deps, "not-a-uuid", { name: "X" })).rejects.toBeInstanceOf(UsageError);
  });

  it("updates a disabled app, which stays disabled", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    await disableApp(deps, app.id);
    const { app: updated } = await updateApp(deps, app.id, { name: "Renamed" });
    expect(updated).toMatchObject({ name: "Renamed", status: "disabled" });
  });

  describe("--public-key-file", () => {
    const rsa2048 = generateKeyPairSync("rsa", { modulusLength: 2048 });

    it("stores an RSA 2048 public key in SPKI PEM, normalised", async () => {
      const deps = setup();
      const app = await createApp(deps, { name: "Demo" });
      const pem = String(rsa2048.publicKey.export({ type: "spki", format: "pem" }));
      // CRLF line ends and blank lines around it: still the same key, stored in Node's form.
      const messy = `\n\n${pem.replaceAll("\n", "\r\n")}\r\n\n`;
      const { app: updated, changed } = await updateApp(deps, app.id, {
        publicKeyFile: await keyFile(messy),
      });
      expect(changed).toEqual(["publicKey"]);
      expect(updated.publicKey).toBe(pem);
      expect(updated.publicKey).toMatch(
        /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/,
      );
      expect((await stored(app.id)).publicKey).toBe(pem);

      const der = rsa2048.publicKey.export({ type: "spki", format: "der" });
      const digest = createHash("sha256").update(der).digest("hex").slice(0, 16);
      expect(publicKeyFingerprint(pem)).toBe(`RSA 2048 bits, sha256 ${digest}`);
    });

    it.each([
      ["pkcs8", "BEGIN PRIVATE KEY"],
      ["pkcs1", "BEGIN RSA PRIVATE KEY"],
    ] as const)("refuses a private key (%s)", async (type, header) => {
      const deps = setup();
      const app = await createApp(deps, { name: "Demo" });
      const pem = String(rsa2048.privateKey.export({ type, format: "pem" }));
      expect(pem).toContain(header);
      const attempt = updateApp(deps, app.id, { publicKeyFile: await keyFile(pem) });
      await expect(attempt).rejects.toBeInstanceOf(UsageError);
      await expect(attempt).rejects.toThrow(/Never hand the service a private key/);
      expect((await stored(app.id)).publicKey).toBeNull();
    });

    it("refuses a PKCS#1 public key, saying how to convert it", async () => {
      const pem = String(rsa2048.publicKey.export({ type: "pkcs1", format: "pem" }));
      expect(pem).toContain("BEGIN RSA PUBLIC KEY");
      expect(() => parsePublicKeyPem(pem)).toThrow(
        "openssl rsa -pubin -in k.pem -RSAPublicKey_in -pubout",
      );
      // The command it suggests gives a key that is accepted.
      const spki = createPublicKey(pem).export({ type: "spki", format: "pem" });
      expect(parsePublicKeyPem(String(spki))).toBe(String(spki));
    });

    it("refuses an RSA key under 2048 bits", () => {
      const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
      const pem = String(publicKey.export({ type: "spki", format: "pem" }));
      expect(() => parsePublicKeyPem(pem)).toThrow(/1024 bits; at least 2048/);
    });

    it.each([
      ["ec", () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey],
      ["ed25519", () => generateKeyPairSync("ed25519").publicKey],
      ["rsa-pss", () => generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).publicKey],
    ])("refuses a %s key", (type, make) => {
      const pem = String(make().export({ type: "spki", format: "pem" }));
      expect(pem).toContain("BEGIN PUBLIC KEY");
      expect(() => parsePublicKeyPem(pem)).toThrow(new RegExp(`must be an RSA key.*not ${type}`));
    });

    it.each([
      ["empty", "", /not a PEM public key/],
      ["not PEM", "hello", /not a PEM public key/],
      [
        "a broken block",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        /not a readable/,
      ],
      [
        "a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        /certificate/,
      ],
      ["an OpenSSH key", "ssh-rsa AAAAB3NzaC1yc2E user@host\n", /OpenSSH/],
    ])("refuses %s", (_name, text, message) => {
      expect(() => parsePublicKeyPem(text)).toThrow(message);
    });

    it("refuses two keys in one file", () => {
      const pem = String(rsa2048.publicKey.export({ type: "spki", format: "pem" }));
      expect(() => parsePublicKeyPem(pem + pem)).toThrow(/2 PEM blocks/);
    });
  });

  describe("--origin", () => {
    it("replaces the list, deduplicated in order, and --clear-origins empties it", async () => {
      const deps = setup();
      const app = await createApp(deps, { name: "Demo" });
      const first = await updateApp(deps, app.id, {
        origins: [
          "https://b.example",
          "https://a.example:8443",
          "https://b.example",
          "http://127.0.0.1:8080",
          "http://localhost",
          "https://[2001:db8::1]",
        ],
      });
      expect(first.app.allowedOrigins).toEqual([
        "https://b.example",
        "https://a.example:8443",
        "http://127.0.0.1:8080",
        "http://localhost",
        "https://[2001:db8::1]",
      ]);
      const second = await updateApp(deps, app.id, { origins: ["https://c.example"] });
      expect(second.app.allowedOrigins).toEqual(["https://c.example"]);
      expect((await stored(app.id)).allowedOrigins).toEqual(["https://c.example"]);
      const cleared = await updateApp(deps, app.id, { clearOrigins: true });
      expect(cleared.app.allowedOrigins).toEqual([]);
      expect((await stored(app.id)).allowedOrigins).toEqual([]);
    });

    it.each([
      ["https://a.example/", /without path/],
      ["https://a.example/app", /without path/],
      ["https://a.example?x=1", /without path/],
      ["https://a.example#top", /without path/],
      ["https://*.example.com", /wildcards/],
      ["*", /wildcards/],
      ["http://a.example", /http only for localhost/],
      ["http://[::1]:3000", /http only for localhost/],
      ["ftp://a.example", /https origin/],
      ["https://A.example", /exactly as browsers send it: https:\/\/a\.example$/],
      ["https://a.example:443", /exactly as browsers send it: https:\/\/a\.example$/],
      ["https://user@a.example", /exactly as browsers send it/],
      ["a.example", /not a URL/],
      ["null", /not a URL/],
      ["", /not a URL/],
    ])("refuses %j", async (origin, message) => {
      const deps = setup();
      const app = await createApp(deps, { name: "Demo" });
      const attempt = updateApp(deps, app.id, { origins: ["https://ok.example", origin] });
      await expect(attempt).rejects.toBeInstanceOf(UsageError);
      await expect(attempt).rejects.toThrow(message);
      expect((await stored(app.id)).allowedOrigins).toEqual([]);
    });

    it("keeps the CORS index (corsorigin:<origin> → app ids) in line", async () => {
      const deps = setup();
      const index = async (origin: string) =>
        JSON.parse((await apps().get(kvKeys.corsOrigin(origin))) ?? "null");
      const a = await createApp(deps, { name: "A" });
      const b = await createApp(deps, { name: "B" });
      await updateApp(deps, a.id, { origins: ["https://shared.example", "https://a.example"] });
      await updateApp(deps, b.id, { origins: ["https://shared.example"] });
      expect(await index("https://shared.example")).toEqual([a.id, b.id]);
      expect(await index("https://a.example")).toEqual([a.id]);

      await updateApp(deps, a.id, { origins: ["https://a.example", "https://a2.example"] });
      expect(await index("https://shared.example")).toEqual([b.id]);
      expect(await index("https://a.example")).toEqual([a.id]);
      expect(await index("https://a2.example")).toEqual([a.id]);

      await updateApp(deps, a.id, { clearOrigins: true });
      expect(await index("https://a.example")).toEqual([]);
      expect(await index("https://a2.example")).toEqual([]);
      expect(await index("https://shared.example")).toEqual([b.id]);

      // Same origins as the record already has: nothing changes, but a lost entry is restored.
      await apps().delete(kvKeys.corsOrigin("https://shared.example"));
      const same = await updateApp(deps, b.id, { origins: ["https://shared.example"] });
      expect(same.changed).toEqual([]);
      expect(await index("https://shared.example")).toEqual([b.id]);
    });

    it("refuses --origin together with --clear-origins", async () => {
      const deps = setup();
      const app = await createApp(deps, { name: "Demo" });
      await expect(
        updateApp(deps, app.id, { origins: ["https://a.example"], clearOrigins: true }),
      ).rejects.toThrow(/cannot be combined/);
    });
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

describe("key commands", () => {
  it("creates a key, stores only its digest, and the worker accepts it", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    const created = await createKey(deps, { appId: app.id, type: "write", label: "server" });

    expect(created.key).toMatch(API_KEY_PATTERN);
    expect(created).toMatchObject({ appId: app.id, type: "write", label: "server" });
    const digest = await sha256Hex(created.key);
    const record = keyRecordSchema.parse(
      JSON.parse((await apps().get(kvKeys.apiKey(digest))) ?? ""),
    );
    expect(record).toEqual({
      id: created.id,
      appId: app.id,
      type: "write",
      label: "server",
      createdAt: created.createdAt,
      revokedAt: null,
    });
    expect(await apps().get(kvKeys.appKey(app.id, created.id))).toBe(digest);
    expect(await apps().get(kvKeys.keyById(created.id))).toBe(digest);
    // The key itself is nowhere in KV, neither as a name nor in a value.
    for (const name of await allNames()) {
      expect(name).not.toContain(created.key);
      expect(await apps().get(name)).not.toContain(created.key);
    }
    await expect(verify(app.id, created.key, "write")).resolves.toMatchObject({
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
    expect(await listNames(apps(), "apikey:")).toEqual([]);
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
    // The worker caches key records for up to 30 s per isolate (documented bound); a new
    // isolate, as here after clearing, sees the revocation at once.
    clearRecordCache();
    await expect(verify(app.id, created.key, "read")).rejects.toThrow(/revoked/);
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

    const updated = await adminJson(
      "app",
      "update",
      appId,
      "--success-url",
      "https://shop.example/ok",
      "--origin",
      "https://shop.example",
    );
    expect(updated).toMatchObject({
      id: appId,
      successUrl: "https://shop.example/ok",
      allowedOrigins: ["https://shop.example"],
    });

    expect(await adminJson("app", "show", appId)).toEqual(updated);
    // Where `wrangler dev --persist-to` keeps its KV state.
    expect(existsSync(path.join(persistTo, "v3", "kv"))).toBe(true);
  }, 90_000);

  // Refused before the bindings are opened, so no workerd starts: quick.
  it.each([
    [["app", "update", UNKNOWN_APP], /at least one change/],
    [["app", "update", UNKNOWN_APP, "--live", "--no-live"], /cannot be combined/],
    [["app", "update", UNKNOWN_APP, "--origin", "https://a.example", "--clear-origins"], /cannot/],
    [["app", "update", UNKNOWN_APP, "--origin", "https://a.example/"], /without path/],
    [["app", "update"], /APP_ID is missing/],
    [["app", "create", "--name", "X", "--no-live"], /does not take --no-live/],
  ])("exits 2 for %j", async (args, message) => {
    const run = await admin(...args, "--json");
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).error).toMatch(message);
  });
});

// --remote needs a Cloudflare account, which the tests do not have: they check only that the
// placeholder ids of wrangler.toml are refused before anything connects.
describe("--remote", () => {
  const realLookingKvId = "0123456789abcdef0123456789abcdef";
  const realLookingDbId = "01234567-89ab-cdef-0123-456789abcdef";

  it.each([
    ["APPS", { kv: false, db: true }, /the APPS namespace has no real id yet/],
    ["DB", { kv: true, db: false }, /the DB database has no real id yet/],
  ])("refuses the placeholder id of %s", async (_binding, real, message) => {
    const project = await readFile(path.join(ROOT, "wrangler.toml"), "utf8");
    const config = project
      .replace(/^id = "0+"$/m, real.kv ? `id = "${realLookingKvId}"` : "$&")
      .replace(/^database_id = "[0-]+"$/m, real.db ? `database_id = "${realLookingDbId}"` : "$&");
    const dir = await mkdtemp(path.join(tmpdir(), "admin-remote-"));
    try {
      const configPath = path.join(dir, "wrangler.toml");
      await writeFile(configPath, config);
      const opening = openPlatform({ configPath, remote: true });
      await expect(opening).rejects.toBeInstanceOf(CommandError);
      await expect(opening).rejects.toThrow(message);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
