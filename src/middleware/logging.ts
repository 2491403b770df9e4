import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../env.ts";
import { errorForLog } from "../errors.ts";

/**
 * One JSON line per request. Only fields chosen here are logged: never headers, bodies,
 * query strings (the payment page's carries the state) or error texts of callers.
 *
 * The level says which lines need a look: `error` for our 5xx (with its cause), `info` for the
 * rest. (Locally, `wrangler dev` relays every console line, at any level, through its inspector
 * to its own process, a few ms of CPU each; `npm run bench` runs the built worker without it.)
 */
export const logRequests: MiddlewareHandler<HonoEnv> = async function logRequests(c, next) {
  const started = Date.now();
  await next();
  const line: Record<string, unknown> = {
    requestId: c.get("requestId"),
    method: c.req.method,
    route: c.req.routePath,
    status: c.res.status,
    durationMs: Date.now() - started,
    appId: c.get("app")?.id ?? null,
  };
  const failure = c.error;
  if (c.res.status >= 500) {
    if (failure) {
      line.error = errorForLog(failure.cause instanceof Error ? failure.cause : failure, 500);
    }
    console.error(JSON.stringify(line));
  } else {
    console.info(JSON.stringify(line));
  }
};
