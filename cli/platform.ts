import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { D1Database, KVNamespace, Queue } from "@cloudflare/workers-types";
import * as z from "zod";
import type { ServiceVars } from "../src/config.ts";
import type { DeliveryMessage } from "../src/db/deliveries.ts";
import { CommandError } from "./errors.ts";

/**
 * The worker's own bindings, opened in this process with wrangler's `getPlatformProxy()`: the
 * commands call the same KV (and D1) API as the worker does, against either the local state of
 * `wrangler dev` or, with remote bindings, the namespace and database on Cloudflare.
 */

/** The bindings the commands use, named as in wrangler.toml and src/env.ts. */
export type CliBindings = {
  APPS: KVNamespace;
  DB: D1Database;
  /**
   * The vars and secrets the worker would see: locally those of wrangler.toml and .dev.vars (as
   * `wrangler dev` reads them); with --remote wrangler.toml's vars. The secrets of SHELL_SECRETS
   * set in the shell win, which is how --remote gets them (they are never stored).
   */
  vars: ServiceVars;
  /**
   * The outbound webhooks' queue producer, where the proxy has one: locally (wrangler's local
   * queue, which hands messages to a running `wrangler dev` that consumes the queue, through
   * wrangler's dev registry, and drops them when none runs); never with --remote.
   */
  WEBHOOK_DELIVERIES?: Queue<DeliveryMessage>;
};

export type PlatformTarget =
  /** What `wrangler dev --config <configPath> [--persist-to <persistTo>]` uses. */
  | { configPath: string; remote: false; persistTo?: string }
  /** The resources on Cloudflare whose ids are in the config at configPath. */
  | { configPath: string; remote: true };

export type Platform = {
  env: CliBindings;
  /** Stops the workerd process (and the remote session) behind `env`; until then Node stays up. */
  dispose: () => Promise<void>;
};

/**
 * Runs `use` with an opener of the bindings that starts the platform on its first call only,
 * and stops it afterwards if it was started, so that the process can exit.
 */
export async function withPlatform<T>(
  target: PlatformTarget,
  use: (bindings: () => Promise<CliBindings>) => Promise<T>,
): Promise<T> {
  let opening: Promise<Platform> | undefined;
  try {
    return await use(async () => {
      opening ??= openPlatform(target);
      return (await opening).env;
    });
  } finally {
    // A platform that failed to open has nothing to stop; its error is the one `use` threw.
    const platform = await opening?.catch(() => undefined);
    await platform?.dispose();
  }
}

/**
 * Runs `work` with wrangler's notes ("Using secrets defined in .dev.vars", …) silenced: they go
 * to stdout, which must hold only the command's output (--json); warnings and errors still reach
 * stderr. An operator's own WRANGLER_LOG (e.g. debug) is left as it is. Only for `work`: wrangler
 * reads the level on every line, and a harness that opens the platform in-process (local-stack)
 * later starts wrangler commands whose --json output must not be silenced by an inherited level.
 */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  if (process.env.WRANGLER_LOG !== undefined) return work();
  process.env.WRANGLER_LOG = "warn";
  try {
    return await work();
  } finally {
    delete process.env.WRANGLER_LOG;
  }
}

export function openPlatform(target: PlatformTarget): Promise<Platform> {
  return quietly(async () => {
    const platform = await open(target);
    return { env: platform.env, dispose: () => quietly(platform.dispose) };
  });
}

async function open(target: PlatformTarget): Promise<Platform> {
  const { getPlatformProxy } = loadWrangler();
  if (!target.remote) {
    const proxy = await getPlatformProxy<Record<string, unknown>>({
      configPath: target.configPath,
      // `wrangler dev --persist-to DIR` keeps its state in DIR/v3; the proxy takes that path.
      persist: { path: path.join(target.persistTo ?? defaultStateDir(target.configPath), "v3") },
      // Local means local, even if someone marks a binding `remote = true` in the config.
      remoteBindings: false,
    });
    return { env: bindingsOf(proxy.env), dispose: proxy.dispose };
  }

  const { config, vars } = remoteConfig(target.configPath);
  const dir = await mkdtemp(path.join(tmpdir(), "checkout-admin-"));
  try {
    const configPath = path.join(dir, "wrangler.json");
    await writeFile(configPath, JSON.stringify(config));
    const proxy = await getPlatformProxy<Record<string, unknown>>({
      configPath,
      persist: false,
      remoteBindings: true,
    });
    return {
      env: bindingsOf({ ...vars, ...proxy.env }),
      dispose: async () => {
        try {
          await proxy.dispose();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The secrets a command may take from the shell (never stored), for --remote: Stripe's keys, and
 * the key that encrypts the webhook endpoints' signing secrets.
 */
const SHELL_SECRETS = [
  "STRIPE_SECRET_KEY_TEST",
  "STRIPE_SECRET_KEY_LIVE",
  "WEBHOOK_ENCRYPTION_KEY",
] as const;

/** The proxy's bindings, with every string among them (vars, secrets) as the vars. */
function bindingsOf(env: Record<string, unknown>): CliBindings {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (typeof value === "string") vars[name] = value;
  for (const name of SHELL_SECRETS) {
    const value = process.env[name];
    if (value) vars[name] = value;
  }
  const queue = env.WEBHOOK_DELIVERIES as Partial<Queue<DeliveryMessage>> | undefined;
  return {
    APPS: env.APPS as KVNamespace,
    DB: env.DB as D1Database,
    vars,
    ...(typeof queue?.sendBatch === "function"
      ? { WEBHOOK_DELIVERIES: queue as Queue<DeliveryMessage> }
      : {}),
  };
}

/**
 * Loaded on first use rather than imported at the top: wrangler takes most of a second to load,
 * which --help and usage errors should not wait for. Its bundle is CommonJS, and require() reads
 * it without the ESM loader first scanning all 15 MB of it for export names (0.4 s a run).
 */
function loadWrangler(): typeof import("wrangler") {
  return createRequire(import.meta.url)("wrangler");
}

/** Where `wrangler dev` keeps its local state when not told: next to its config file. */
function defaultStateDir(configPath: string): string {
  return path.join(path.dirname(configPath), ".wrangler", "state");
}

/** The all-zero ids that wrangler.toml ships with, before `wrangler kv namespace create` etc. */
const PLACEHOLDER_ID = /^[0-]+$/;

/**
 * The parts of wrangler's reading of the project's config that the remote config needs. Checked,
 * because wrangler's type for it (from @cloudflare/workers-utils) is not installed: it is `any`.
 */
const projectConfigSchema = z.object({
  name: z.string().optional(),
  compatibility_date: z.string().optional(),
  account_id: z.string().optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  kv_namespaces: z.array(z.object({ binding: z.string(), id: z.string().optional() })),
  d1_databases: z.array(
    z.object({
      binding: z.string(),
      database_name: z.string().optional(),
      database_id: z.string().optional(),
    }),
  ),
});

/**
 * A config with only the two bindings, marked `remote = true`. Remote bindings are switched on
 * per binding in the config, and the project's own wrangler.toml must not carry the mark, or
 * `wrangler dev` would work on the production namespace too. The production ids (`id`,
 * `database_id`) are taken; a `preview_id` is not.
 */
function remoteConfig(projectConfigPath: string): {
  config: object;
  vars: Record<string, unknown>;
} {
  const { unstable_readConfig } = loadWrangler();
  const config = projectConfigSchema.parse(
    unstable_readConfig({ config: projectConfigPath }, { hideWarnings: true }),
  );
  const appsId = config.kv_namespaces.find((namespace) => namespace.binding === "APPS")?.id;
  const db = config.d1_databases.find((database) => database.binding === "DB");
  if (appsId === undefined || PLACEHOLDER_ID.test(appsId)) {
    throw new CommandError(
      `${projectConfigPath}: the APPS namespace has no real id yet; put the id that ` +
        "`wrangler kv namespace create APPS` printed there first (docs/deployment.md)",
    );
  }
  if (db?.database_id === undefined || PLACEHOLDER_ID.test(db.database_id)) {
    throw new CommandError(
      `${projectConfigPath}: the DB database has no real id yet; put the id that ` +
        "`wrangler d1 create checkout-edge` printed there first (docs/deployment.md)",
    );
  }
  const remote = {
    name: config.name,
    compatibility_date: config.compatibility_date,
    ...(config.account_id ? { account_id: config.account_id } : {}),
    kv_namespaces: [{ binding: "APPS", id: appsId, remote: true }],
    d1_databases: [
      { binding: "DB", database_name: db.database_name, database_id: db.database_id, remote: true },
    ],
  };
  return { config: remote, vars: config.vars ?? {} };
}
