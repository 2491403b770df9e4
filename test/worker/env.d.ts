import type { D1Migration } from "cloudflare:test";
import type { Bindings } from "../../src/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      TEST_MIGRATIONS: D1Migration[];
      /** The static assets (wrangler.toml [assets]); the worker itself never calls them. */
      ASSETS: Fetcher;
    }
    interface GlobalProps {
      mainModule: typeof import("../../src/index.ts");
    }
  }
}
