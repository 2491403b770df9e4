import type { MiddlewareHandler } from "hono";
import { isKnownBrowserOrigin } from "../apps/store.ts";
import type { HonoEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

const ALLOWED_METHODS = "GET, POST, OPTIONS";
const ALLOWED_HEADERS = "Authorization, Content-Type, X-CLIENT-ID, X-Request-Id";
const EXPOSED_HEADERS = "X-Request-Id, Retry-After";

/** Longer than any real origin (scheme, a 253-character host name, a port); KV keys are bounded. */
const MAX_ORIGIN_LENGTH = 300;

/**
 * The header's value if it is an origin as browsers send it (`https://host[:port]`, nothing
 * more), else null. Decided before any lookup, so no header value reaches KV as it is.
 */
function wellFormedOrigin(value: string): string | null {
  if (value.length > MAX_ORIGIN_LENGTH || !URL.canParse(value)) return null;
  const url = new URL(value);
  const web = url.protocol === "https:" || url.protocol === "http:";
  return web && url.origin === value ? value : null;
}

/**
 * CORS for token calls from browsers. Only origins that some app lists get CORS headers (and
 * a preflight answer); other origins get none, so browsers keep their pages from the API. Which
 * app an origin may call is checked again per request, after the token names the app.
 */
export const browserCors: MiddlewareHandler<HonoEnv> = async function browserCors(c, next) {
  const header = c.req.header("Origin");
  if (header === undefined) return next();
  const origin = wellFormedOrigin(header);
  const known = origin !== null && (await isKnownBrowserOrigin(c.env.APPS, origin));

  if (c.req.method === "OPTIONS") {
    if (!known || origin === null) throw new ApiError("forbidden", MESSAGES.originNotAllowed);
    c.header("Access-Control-Allow-Origin", origin);
    c.header("Access-Control-Allow-Methods", ALLOWED_METHODS);
    c.header("Access-Control-Allow-Headers", ALLOWED_HEADERS);
    c.header("Access-Control-Max-Age", "600");
    c.header("Vary", "Origin");
    return c.body(null, 204);
  }

  await next();
  if (known && origin !== null) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    c.res.headers.append("Vary", "Origin");
  }
};
