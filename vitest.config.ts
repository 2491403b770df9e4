import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      // The worker logs a JSON line per request; show them only for tests that fail.
      silent: "passed-only" as const,
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  PUBLIC_BASE_URL: "https://pay.example.test",
                  STRIPE_API_BASE_URL: "http://stripe.test",
                  STRIPE_TIMEOUT_MS: "300",
                  STRIPE_MAX_NETWORK_RETRIES: "1",
                  STRIPE_SECRET_KEY_TEST: "sk_test_double_0123456789",
                  STRIPE_SECRET_KEY_LIVE: "sk_live_double_0123456789",
                  STRIPE_WEBHOOK_SECRET_TEST: "whsec_test_double",
                  STRIPE_WEBHOOK_SECRET_LIVE: "whsec_live_double",
                },
              },
            }),
          ],
          test: {
            name: "worker",
            include: ["test/worker/**/*.test.ts"],
            setupFiles: ["./test/worker/setup.ts"],
          },
        },
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
