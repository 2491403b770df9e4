import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { Deps } from "../../../cli/deps.ts";
import { listNames } from "../../../cli/kv.ts";
import { openPlatform, type Platform } from "../../../cli/platform.ts";
import { verifyApiKey } from "../../../src/auth/api-key.ts";

export const ROOT = path.resolve(import.meta.dirname, "../../..");
export const UNKNOWN_APP = "7c0e8b54-6b2e-4f55-9a4e-3f8f0a3c1f10";

/** The project's D1 migrations applied to a local state directory, as `npm run dev` does. */
async function migrateLocalState(stateDir: string): Promise<void> {
  const wranglerJs = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  await promisify(execFile)(
    process.execPath,
    [wranglerJs, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir],
    { cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0", WRANGLER_SEND_METRICS: "false" } },
  );
}

/**
 * For the tests of the commands: a real local APPS namespace (and, with `migrate`, the DB
 * database with the project's migrations), opened the way the CLI opens them (wrangler's
 * platform proxy over the project's wrangler.toml) in a state directory of its own, the
 * namespace emptied before every test. Call it at the top level of a test file.
 */
export function useLocalApps(options: { migrate?: boolean } = {}) {
  let platform: Platform | undefined;
  let stateDir = "";

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "admin-state-"));
    if (options.migrate) await migrateLocalState(stateDir);
    const configPath = path.join(ROOT, "wrangler.toml");
    platform = await openPlatform({ configPath, remote: false, persistTo: stateDir });
    // Migrating and starting workerd take a few seconds, more while other files run the CLI.
  }, 60_000);

  afterAll(async () => {
    await platform?.dispose();
    await rm(stateDir, { recursive: true, force: true });
  });

  function env() {
    if (!platform) throw new Error("the platform proxy is not open");
    return platform.env;
  }

  const apps = () => env().APPS;
  const allNames = () => listNames(apps(), "");

  beforeEach(async () => {
    for (const name of await allNames()) await apps().delete(name);
  });

  return {
    apps,
    db: () => env().DB,
    stateDir: () => stateDir,
    allNames,
    /** A clock that moves one second per reading, so that "keeps the first time" is observable. */
    setup(): Deps {
      let t = Date.parse("2026-01-01T00:00:00.000Z");
      const now = () => {
        t += 1000;
        return new Date(t);
      };
      return { bindings: async () => env(), now };
    },
    /** The worker's own key check, reading the KV that the commands wrote. */
    verify(appId: string, key: string, type: string) {
      const headers = new Headers({
        "X-API-KEY": key,
        "X-API-KEY-TYPE": type,
        "X-CLIENT-ID": appId,
      });
      return verifyApiKey(apps(), headers);
    },
  };
}
