import type { Context, MiddlewareHandler } from "hono";
import type { HonoEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/** The window of the Cloudflare rate limiting bindings (wrangler.toml, `period`), in seconds. */
const PERIOD_SECONDS = 60;

/** The caller's address as Cloudflare reports it; locally there is none. */
export function clientAddress(c: Context<HonoEnv>): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}

function rateLimited(what: string): ApiError {
  return new ApiError("rate_limited", `Too many ${what}; retry after ${PERIOD_SECONDS} seconds`, {
    headers: { "Retry-After": String(PERIOD_SECONDS) },
  });
}

/** Create calls per client address, counted before credentials are even looked at. */
export const limitCreatesPerAddress: MiddlewareHandler<HonoEnv> =
  async function limitCreatesPerAddress(c, next) {
    const { success } = await c.env.CREATE_LIMIT_PER_ADDRESS.limit({ key: clientAddress(c) });
    if (!success) throw rateLimited("checkout sessions from this address");
    await next();
  };

/** Create calls per credential: per API key, or per app and tenant for access tokens. */
export const limitCreatesPerCredential: MiddlewareHandler<HonoEnv> =
  async function limitCreatesPerCredential(c, next) {
    const credential = c.get("credential");
    const app = c.get("app");
    if (!credential || !app) throw new ApiError("internal", "Internal error");
    const key =
      credential.kind === "api_key"
        ? `key:${credential.keyId}`
        : `token:${app.id}:${credential.tenantId ?? "-"}`;
    const { success } = await c.env.CREATE_LIMIT_PER_CREDENTIAL.limit({ key });
    if (!success) throw rateLimited("checkout sessions for this credential");
    await next();
  };

/**
 * Addresses whose failed credentials passed the limit, until when (ms). Lets this isolate refuse
 * them before doing any verification work; the count itself lives in the binding, shared by all
 * isolates. Bounded: cleared when full (the binding still counts).
 */
const blockedAddresses = new Map<string, number>();
const MAX_BLOCKED = 10_000;

export function isBlockedForFailures(address: string, now = Date.now()): boolean {
  const until = blockedAddresses.get(address);
  if (until === undefined) return false;
  if (until > now) return true;
  blockedAddresses.delete(address);
  return false;
}

/** Counts a failed credential check; when the address is over its limit, answers 429 instead. */
export async function noteFailedCredentials(
  c: Context<HonoEnv>,
  failure: ApiError,
): Promise<ApiError> {
  const address = clientAddress(c);
  const { success } = await c.env.AUTH_FAILURE_LIMIT_PER_ADDRESS.limit({ key: address });
  if (success) return failure;
  if (blockedAddresses.size >= MAX_BLOCKED) blockedAddresses.clear();
  blockedAddresses.set(address, Date.now() + PERIOD_SECONDS * 1000);
  return rateLimited("failed credential checks from this address");
}

export function refuseBlockedAddress(c: Context<HonoEnv>): void {
  if (isBlockedForFailures(clientAddress(c)))
    throw rateLimited("failed credential checks from this address");
}
