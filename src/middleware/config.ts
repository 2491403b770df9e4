import type { MiddlewareHandler } from "hono";
import { parseConfig } from "../config.ts";
import type { HonoEnv } from "../env.ts";

/**
 * Parses the service's vars for the routes that use them (the JSON API), before any I/O: a
 * broken var is a 500 that names it there, and never touches the payment page or /healthz.
 */
export const loadConfig: MiddlewareHandler<HonoEnv> = async function loadConfig(c, next) {
  c.set("config", parseConfig(c.env));
  await next();
};
