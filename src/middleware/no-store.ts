import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../env.ts";

/** API answers carry per-caller data (and errors): no cache or proxy may keep or share them. */
export const noStore: MiddlewareHandler<HonoEnv> = async function noStore(c, next) {
  await next();
  c.res.headers.set("Cache-Control", "no-store");
};
