import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { updateApp } from "../../cli/app-update.ts";
import { createApp, disableApp } from "../../cli/apps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import { parsePublicKeyPem, publicKeyFingerprint } from "../../cli/public-keys.ts";
import { appRecordSchema, kvKeys } from "../../src/apps/records.ts";
import { UNKNOWN_APP, useLocalApps } from "./helpers/local-apps.ts";

const { apps, setup } = useLocalApps();

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

  it("sets the portal return URL, and none takes it away", async () => {
    const deps = setup();
    const app = await createApp(deps, { name: "Demo" });
    expect(app.portalReturnUrl).toBeNull();
    const { app: set } = await updateApp(deps, app.id, {
      portalReturnUrl: "https://shop.example/account",
    });
    expect((await stored(app.id)).portalReturnUrl).toBe("https://shop.example/account");
    expect(set.portalReturnUrl).toBe("https://shop.example/account");
    await updateApp(deps, app.id, { portalReturnUrl: "none" });
    expect((await stored(app.id)).portalReturnUrl).toBeNull();
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
    [{ portalReturnUrl: "http://shop.example/account" }, "--portal-return-url"],
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
