import path from "node:path";
import { cloudflareTest, type D1Migration, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { copyDocsAssets } from "./scripts/docs-assets.ts";

type RateLimits = Record<
  "CREATE_LIMIT_PER_CREDENTIAL" | "CREATE_LIMIT_PER_ADDRESS" | "AUTH_FAILURE_LIMIT_PER_ADDRESS",
  number
>;
const UNLIMITED: RateLimits = {
  CREATE_LIMIT_PER_CREDENTIAL: 1_000_000,
  CREATE_LIMIT_PER_ADDRESS: 1_000_000,
  AUTH_FAILURE_LIMIT_PER_ADDRESS: 1_000_000,
};
/** Small, and in production's order (failures < per credential < per address). */
const SMALL: RateLimits = {
  CREATE_LIMIT_PER_CREDENTIAL: 5,
  CREATE_LIMIT_PER_ADDRESS: 8,
  AUTH_FAILURE_LIMIT_PER_ADDRESS: 3,
};

/**
 * A project whose tests run inside workerd with the worker's own bindings (wrangler.toml),
 * local D1/KV, and the vars and secrets below; Stripe is the in-process double (setup.ts).
 * `limits` sets the rate-limit bindings: unlimited for the ordinary tests (which share one
 * client address), small for the tests of the limits themselves.
 */
function workerProject(
  name: string,
  files: { include: string[]; exclude?: string[] },
  limits: RateLimits,
  migrations: D1Migration[],
) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            PUBLIC_BASE_URL: "https://pay.example.test",
            STRIPE_API_BASE_URL: "http://127.0.0.1:12111",
            STRIPE_TIMEOUT_MS: "1000",
            STRIPE_MAX_NETWORK_RETRIES: "1",
            STRIPE_SECRET_KEY_TEST: "sk_test_double_0123456789",
            STRIPE_SECRET_KEY_LIVE: "sk_live_double_0123456789",
            STRIPE_WEBHOOK_SECRET_TEST: "whsec_test_double",
            STRIPE_WEBHOOK_SECRET_LIVE: "whsec_live_double",
            STRIPE_CONNECT_WEBHOOK_SECRET_TEST: "whsec_test_connect_double",
            STRIPE_CONNECT_WEBHOOK_SECRET_LIVE: "whsec_live_connect_double",
            WEBHOOK_ENCRYPTION_KEY: "oFrpyO+JjXiBp+Un1q4Sfi5izhTHDAcxEzqwPcwngF4=",
            // An endpoint's answer is awaited this long; the tests of a hanging one wait it out.
            WEBHOOK_TIMEOUT_MS: "500",
          },
          ratelimits: Object.fromEntries(
            Object.entries(limits).map(([binding, limit], i) => [
              binding,
              { namespace_id: String(9001 + i), simple: { limit, period: 60 as const } },
            ]),
          ),
        },
      }),
    ],
    // 20 s, not vitest's 5 s: the heavier tests (hundreds of concurrent requests, every order of
    // a batch of events) take 3-5 s on two cores, and one that times out keeps running into the
    // next test's faults and rows, so a slow machine would fail a whole file.
    test: { name, ...files, setupFiles: ["./test/worker/setup.ts"], testTimeout: 20_000 },
  };
}

export default defineConfig(async () => {
  // The worker tests serve the /docs bundle from the assets folder; wrangler's [build] command,
  // which fills it for dev and deploy, does not run here.
  copyDocsAssets();
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      // The worker logs a JSON line per request; show them only for tests that fail.
      silent: "passed-only" as const,
      projects: [
        workerProject(
          "worker",
          { include: ["test/worker/**/*.test.ts"], exclude: ["test/worker/**/*.limits.test.ts"] },
          UNLIMITED,
          migrations,
        ),
        workerProject(
          "limits",
          { include: ["test/worker/**/*.limits.test.ts"] },
          SMALL,
          migrations,
        ),
        {
          test: {
            name: "e2e",
            environment: "node",
            include: ["test/e2e/**/*.test.ts"],
            testTimeout: 60_000,
            hookTimeout: 180_000,
          },
        },
        {
          test: {
            name: "node",
            environment: "node",
            include: ["test/node/**/*.test.ts"],
            testTimeout: 60_000,
          },
        },
      ],
    },
  };
});
