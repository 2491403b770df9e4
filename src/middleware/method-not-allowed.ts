import type { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { HonoEnv } from "../env.ts";
import { ApiError, renderError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/**
 * 405 with `Allow` derived from the app's own routes (Hono's method-not-allowed), in the
 * envelope. `Allow` names the methods the API documents: HEAD, which Hono answers with any GET
 * route, goes unnamed as before. Mount it after every route: then it runs only when no route
 * matched, and the path's own middleware (the page's headers, the API's no-store) wraps its answer.
 */
export function answerMethodNotAllowed(app: Hono<HonoEnv>) {
  return methodNotAllowed<HonoEnv>({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = methods.filter((method) => method !== "HEAD").join(", ");
      return renderError(
        c,
        new ApiError("method_not_allowed", MESSAGES.methodNotAllowed(c.req.method, allow), {
          headers: { Allow: allow },
        }),
      );
    },
  });
}
