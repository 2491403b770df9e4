/**
 * Starts the whole service on loopback for harnesses (the browser test, `npm run load`,
 * `npm run bench`): the Stripe double's server and the worker (`wrangler dev`, or for the bench
 * the built bundle under Miniflare), each on a free port, with their own temporary state,
 * config and secrets, so nothing of a developer's local state or `.dev.vars` is used or touched. `stop()` ends both and removes the temporary folder.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { importPKCS8, SignJWT } from "jose";
import { updateApp } from "../../cli/app-update.ts";
import { createApp } from "../../cli/apps.ts";
import type { Deps } from "../../cli/deps.ts";
import { createKey } from "../../cli/keys.ts";
import { withPlatform } from "../../cli/platform.ts";

export const repoRoot = path.resolve(import.meta.dirname, "..", "..");
const wranglerJs = path.join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");
const run = promisify(execFile);

const STACK_SECRETS = {
  STRIPE_SECRET_KEY_TEST: "sk_test_local_stack",
  STRIPE_SECRET_KEY_LIVE: "sk_live_local_stack",
  STRIPE_WEBHOOK_SECRET_TEST: "whsec_local_stack_test",
  STRIPE_WEBHOOK_SECRET_LIVE: "whsec_local_stack_live",
  STRIPE_CONNECT_WEBHOOK_SECRET_TEST: "whsec_local_stack_connect_test",
  STRIPE_CONNECT_WEBHOOK_SECRET_LIVE: "whsec_local_stack_connect_live",
  WEBHOOK_ENCRYPTION_KEY: "dGhlIGxvY2FsIHN0YWNrJ3Mgb3duIGtleSwgMzIgYnk=",
};

export interface StackOptions {
  /** The worker's entry module (absolute path); the bench passes its own. */
  main?: string;
  /** Extra vars for the worker. */
  vars?: Record<string, string>;
  /** The Stripe double answers every API call after this many ms. */
  stripeLatencyMs?: number;
  /** Lift the rate-limit bindings' limits (benchmarks measure the work, not the limiter). */
  unlimitedRateLimits?: boolean;
  /** Print the children's output (for debugging a harness). */
  verbose?: boolean;
  /** Open the worker's DevTools inspector on this loopback port (the profiler uses it). */
  inspectorPort?: number;
  /**
   * How the worker runs: `wrangler dev` (default; what `npm run dev` uses), or `built`: the
   * deploy bundle served by Miniflare, without wrangler dev's proxy and inspector (the bench).
   */
  runtime?: "wrangler-dev" | "built";
  /** More D1 bindings, each its own local database with the project's migrations applied. */
  extraDatabases?: string[];
  /** Serve the worker unminified (readable function names in a profile). */
  unminified?: boolean;
  /**
   * Keep the local D1/KV state in memory (/dev/shm, where there is one): benchmarks then
   * measure the worker, not this machine's disk writeback.
   */
  stateInMemory?: boolean;
  /**
   * Give the app an access-token key pair and list the worker's own origin on it, so a browser
   * on the worker's pages (the /docs API reference) may call the API with `signAccessToken()`'s
   * tokens.
   */
  accessTokens?: boolean;
}

export interface LocalStack {
  workerOrigin: string;
  stripeOrigin: string;
  persistDir: string;
  configPath: string;
  appId: string;
  writeKey: string;
  readKey: string;
  /** A one-hour access token for the app and a tenant (with `accessTokens` only). */
  signAccessToken: (tenantId: string) => Promise<string>;
  /** The process group of the worker's runtime (workerd and whatever started it). */
  workerProcessGroup: number | undefined;
  stop: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the process behind ${url} exited (${child.exitCode})`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (signal: NodeJS.Signals) => {
      try {
        // Its own process group: wrangler's workerd children go with it.
        process.kill(-(child.pid as number), signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    kill("SIGTERM");
  });
}

/** The environment of the wrangler commands: no colours, no metrics. */
const quietEnv = { ...process.env, FORCE_COLOR: "0", WRANGLER_SEND_METRICS: "false" };
/** The children's output: shown only when debugging a harness. */
const outputOf = (options: StackOptions) => (options.verbose ? "inherit" : "ignore");

/**
 * Builds the worker as it would be deployed (`wrangler deploy --dry-run --outdir`) and serves
 * that bundle with scripts/lib/serve-built-worker.ts (Miniflare: workerd with the config's
 * bindings and this stack's local state, no dev proxy or inspector in between).
 */
async function serveBuiltWorker(s: {
  dir: string;
  configPath: string;
  persistDir: string;
  workerPort: number;
  vars: Record<string, string>;
  options: StackOptions;
}): Promise<ChildProcess> {
  const outdir = path.join(s.dir, "dist");
  await run(
    process.execPath,
    [wranglerJs, "deploy", "--dry-run", "--config", s.configPath, "--outdir", outdir],
    { cwd: s.dir, env: quietEnv },
  );
  const script = readdirSync(outdir).find((name) => name.endsWith(".js"));
  if (!script) throw new Error(`wrangler built no .js file into ${outdir}`);
  const stdio = outputOf(s.options);
  return spawn(process.execPath, [path.join(repoRoot, "scripts", "lib", "serve-built-worker.ts")], {
    cwd: s.dir,
    detached: true,
    // The worker's error and warning lines are shown: a bench must not hide failures.
    stdio: ["ignore", stdio, "inherit"],
    env: {
      ...process.env,
      SERVE_BUILT_WORKER: JSON.stringify({
        configPath: s.configPath,
        script: path.join(outdir, script),
        port: s.workerPort,
        persistTo: s.persistDir,
        vars: s.vars,
        inspectorPort: s.options.inspectorPort,
      }),
    },
  });
}

const TOKEN_ISSUER = "https://issuer.local-stack.test";

/** A key pair and issuer for the app, the worker's origin listed; returns the token signer. */
async function allowAccessTokens(
  deps: Deps,
  appId: string,
  dir: string,
  workerOrigin: string,
): Promise<(tenantId: string) => Promise<string>> {
  const pair = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const publicKeyFile = path.join(dir, "token-public.pem");
  writeFileSync(publicKeyFile, pair.publicKey);
  await updateApp(deps, appId, {
    tokenIssuer: TOKEN_ISSUER,
    publicKeyFile,
    origins: [workerOrigin],
  });
  const key = await importPKCS8(pair.privateKey, "RS256");
  return (tenantId) =>
    new SignJWT({ tenantId })
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(appId)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key);
}

export async function startLocalStack(options: StackOptions = {}): Promise<LocalStack> {
  const base = options.stateInMemory && existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = mkdtempSync(path.join(base, "checkout-edge-stack-"));
  const persistDir = path.join(dir, "state");
  const [workerPort, stripePort] = [await freePort(), await freePort()];
  const workerOrigin = `http://127.0.0.1:${workerPort}`;
  const stripeOrigin = `http://127.0.0.1:${stripePort}`;
  const children: ChildProcess[] = [];
  const stdio = outputOf(options);

  const stop = async () => {
    await Promise.all(children.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The project's config with absolute paths, in a folder of its own with its own secrets.
    const baseConfig = readFileSync(path.join(repoRoot, "wrangler.toml"), "utf8")
      .replace(
        /^main = ".*"$/m,
        `main = "${options.main ?? path.join(repoRoot, "src", "index.ts")}"`,
      )
      .replace(
        /^migrations_dir = ".*"$/m,
        `migrations_dir = "${path.join(repoRoot, "migrations")}"`,
      )
      .replace(
        /^directory = "(.*)"$/m,
        (_, dir: string) => `directory = "${path.join(repoRoot, dir)}"`,
      )
      // The build command (the docs assets' copy) runs in the repository, not in this folder.
      .replace(/^\[build\]$/m, `[build]\ncwd = "${repoRoot}"`);
    const limited = options.unlimitedRateLimits
      ? baseConfig.replace(/simple = \{ limit = \d+,/g, "simple = { limit = 1000000000,")
      : baseConfig;
    const unminified = options.unminified
      ? limited.replace(/^minify = true$/m, "minify = false")
      : limited;
    // More local D1 databases with the same migrations (the bench's seeded one).
    const config = (options.extraDatabases ?? []).reduce(
      (text, binding, i) =>
        `${text}\n[[d1_databases]]\nbinding = "${binding}"\ndatabase_name = "${binding.toLowerCase()}"\ndatabase_id = "00000000-0000-0000-0000-${String(i + 1).padStart(12, "0")}"\nmigrations_dir = "${path.join(repoRoot, "migrations")}"\n`,
      unminified,
    );
    const configPath = path.join(dir, "wrangler.toml");
    writeFileSync(configPath, config);
    const vars = {
      ...STACK_SECRETS,
      PUBLIC_BASE_URL: workerOrigin,
      STRIPE_API_BASE_URL: stripeOrigin,
      // Harnesses' webhook receivers listen on loopback (test-mode endpoints only).
      WEBHOOK_ALLOW_LOOPBACK: "true",
      ...options.vars,
    };
    writeFileSync(
      path.join(dir, ".dev.vars"),
      Object.entries(vars)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n"),
    );

    for (const binding of ["DB", ...(options.extraDatabases ?? [])]) {
      await run(
        process.execPath,
        [
          wranglerJs,
          "d1",
          "migrations",
          "apply",
          binding,
          "--local",
          "--config",
          configPath,
          "--persist-to",
          persistDir,
        ],
        { cwd: dir, env: quietEnv },
      );
    }
    // The same config and state directory as the worker below, so it finds the app.
    const target = { configPath, remote: false, persistTo: persistDir } as const;
    const { app, write, read, signAccessToken } = await withPlatform(target, async (bindings) => {
      const deps = { bindings };
      const app = await createApp(deps, {
        name: "Local stack app",
        successUrl: `${stripeOrigin}/demo/success`,
        cancelUrl: `${stripeOrigin}/demo/cancel`,
      });
      await updateApp(deps, app.id, { portalReturnUrl: `${stripeOrigin}/demo/account` });
      const write = await createKey(deps, { appId: app.id, type: "write", label: "stack write" });
      const read = await createKey(deps, { appId: app.id, type: "read", label: "stack read" });
      const signAccessToken = options.accessTokens
        ? await allowAccessTokens(deps, app.id, dir, workerOrigin)
        : () => Promise.reject(new Error("startLocalStack({ accessTokens: true }) signs tokens"));
      return { app, write, read, signAccessToken };
    });

    const double = spawn(
      process.execPath,
      [path.join(repoRoot, "scripts", "stripe-double-server.ts")],
      {
        cwd: repoRoot,
        detached: true,
        stdio: ["ignore", stdio, stdio],
        env: {
          ...process.env,
          STRIPE_DOUBLE_PORT: String(stripePort),
          STRIPE_DOUBLE_LATENCY_MS: String(options.stripeLatencyMs ?? 0),
          WEBHOOK_URL: `${workerOrigin}/api/v1/webhooks/stripe`,
          STRIPE_WEBHOOK_SECRET_TEST: STACK_SECRETS.STRIPE_WEBHOOK_SECRET_TEST,
          STRIPE_WEBHOOK_SECRET_LIVE: STACK_SECRETS.STRIPE_WEBHOOK_SECRET_LIVE,
          STRIPE_CONNECT_WEBHOOK_SECRET_TEST: STACK_SECRETS.STRIPE_CONNECT_WEBHOOK_SECRET_TEST,
          STRIPE_CONNECT_WEBHOOK_SECRET_LIVE: STACK_SECRETS.STRIPE_CONNECT_WEBHOOK_SECRET_LIVE,
        },
      },
    );
    children.push(double);
    await waitForHttp(`${stripeOrigin}/demo/success`, double, 20);
    // The app's customer portal settings (test mode), saved as an operator does once in Stripe's
    // Dashboard: without them Stripe, and so the double, opens no portal session.
    const saved = await fetch(`${stripeOrigin}/__double/portal-configuration?livemode=false`, {
      method: "POST",
    });
    if (!saved.ok)
      throw new Error(`the Stripe double did not save the portal settings: ${saved.status}`);

    const worker =
      options.runtime === "built"
        ? await serveBuiltWorker({ dir, configPath, persistDir, workerPort, vars, options })
        : spawn(
            process.execPath,
            [
              wranglerJs,
              "dev",
              "--config",
              configPath,
              "--persist-to",
              persistDir,
              "--ip",
              "127.0.0.1",
              "--port",
              String(workerPort),
              "--show-interactive-dev-session=false",
              ...(options.inspectorPort
                ? ["--inspector-ip", "127.0.0.1", "--inspector-port", String(options.inspectorPort)]
                : []),
              "--log-level",
              options.verbose ? "log" : "warn",
            ],
            { cwd: dir, detached: true, stdio: ["ignore", stdio, stdio], env: quietEnv },
          );
    children.push(worker);
    await waitForHttp(`${workerOrigin}/healthz`, worker, 90);

    return {
      workerOrigin,
      stripeOrigin,
      persistDir,
      configPath,
      appId: app.id,
      writeKey: write.key,
      readKey: read.key,
      signAccessToken,
      workerProcessGroup: worker.pid,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
