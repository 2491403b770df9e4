import type { Context, MiddlewareHandler } from "hono";
import type { AuthenticatedEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import { noteFailedCredentials, refuseBlockedAddress } from "../middleware/rate-limit.ts";
import { verifyAccessToken } from "./access-token.ts";
import { verifyApiKey } from "./api-key.ts";

export interface AuthOptions {
  /** The route writes: read keys are refused with 403. */
  write: boolean;
  /** Access tokens may call the route (else 403 for a token). */
  tokens: boolean;
}

/**
 * Checks the caller's credentials and puts the app and credential on the context. Options are
 * checked here, once, when the route is built.
 */
export function authenticate(options: AuthOptions): MiddlewareHandler<AuthenticatedEnv> {
  if (typeof options.write !== "boolean" || typeof options.tokens !== "boolean") {
    throw new TypeError("authenticate: write and tokens must be booleans");
  }

  return async function authenticateCaller(c, next) {
    refuseBlockedAddress(c);
    try {
      await checkCredentials(c);
    } catch (err) {
      // Failed credential checks are counted per address; past the limit they become 429.
      if (err instanceof ApiError && err.status === 401) throw await noteFailedCredentials(c, err);
      throw err;
    }
    await next();
  };

  async function checkCredentials(c: Context<AuthenticatedEnv>): Promise<void> {
    const headers = c.req.raw.headers;
    const hasApiKey = headers.has("X-API-KEY");
    const hasToken = headers.has("Authorization");

    if (hasApiKey && hasToken) {
      throw new ApiError("unauthorized", MESSAGES.credentialsBoth);
    }
    if (!hasApiKey && !hasToken) {
      throw new ApiError("unauthorized", MESSAGES.credentialsMissing(options.tokens));
    }

    if (hasToken) {
      if (!options.tokens) {
        throw new ApiError("forbidden", MESSAGES.tokenOnKeyRoute);
      }
      const { app, tenantId, subject } = await verifyAccessToken(c.env.APPS, headers);
      const origin = headers.get("Origin");
      if (origin !== null && !app.allowedOrigins.includes(origin)) {
        throw new ApiError("forbidden", MESSAGES.originNotAllowedForApp);
      }
      c.set("app", app);
      c.set("credential", { kind: "access_token", tenantId, subject });
      return;
    }

    if (headers.has("Origin")) {
      throw new ApiError("forbidden", MESSAGES.keyFromBrowser);
    }
    const { app, key } = await verifyApiKey(c.env.APPS, headers);
    if (options.write && key.type !== "write") {
      throw new ApiError("forbidden", MESSAGES.readKey);
    }
    c.set("app", app);
    c.set("credential", { kind: "api_key", keyId: key.id, keyType: key.type });
  }
}
