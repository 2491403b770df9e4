import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandError } from "../../cli/errors.ts";
import { openPlatform } from "../../cli/platform.ts";
import { API_KEY_PATTERN } from "../../src/apps/keys.ts";
import { ROOT, UNKNOWN_APP } from "./helpers/local-apps.ts";

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
