import type { AppRecord } from "./apps/records.ts";
import type { Config } from "./config.ts";

/**
 * The bindings, vars and secrets, as `wrangler types` generates them from wrangler.toml and
 * .dev.vars.example (worker-configuration.d.ts; `npm test` fails when the two disagree). Every
 * var and secret is read as possibly missing or blank: src/config.ts names it.
 */
export type Bindings = WorkerBindings;

export type Credential =
  | { kind: "api_key"; keyId: string; keyType: "read" | "write" }
  | { kind: "access_token"; tenantId: string | null; subject: string | null };

interface Variables {
  requestId: string;
  /** Set for the JSON API by src/middleware/config.ts. */
  config: Config;
  /** Known once authenticate ran; the request log reads it where it is. */
  app?: AppRecord;
  credential?: Credential;
}

export type HonoEnv = { Bindings: Bindings; Variables: Variables };

/** After authenticate (src/auth/middleware.ts): the caller's app and credential are known. */
export type AuthenticatedEnv = {
  Bindings: Bindings;
  Variables: Variables & { app: AppRecord; credential: Credential };
};
