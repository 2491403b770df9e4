import { Hono } from "hono";
import type { HonoEnv } from "../env.ts";
import { successEnvelope } from "../errors.ts";

/** Liveness: proves that D1 and KV answer, and nothing more. */
export const healthRoutes = new Hono<HonoEnv>().get("/healthz", async (c) => {
  await Promise.all([c.env.DB.prepare("SELECT 1").first(), c.env.APPS.get("healthz")]);
  return c.json(successEnvelope("ok", { status: "ok" }), 200);
});
