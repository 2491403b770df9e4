import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler, ValidationTargets } from "hono";
import type * as z from "zod";
import type { HonoEnv } from "./env.ts";
import { ApiError } from "./errors.ts";

/** Joins zod's issues into one sentence that names each wrong field (bounded: the body has ten). */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const messages = [...new Set(issues.map((issue) => issue.message))];
  return messages.slice(0, 12).join("; ");
}

/** zValidator wrapped once, so every validation failure goes through the one error path. */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw new ApiError("bad_request", describeIssues(result.error.issues));
  });
}

const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;

/** Hono's json validator skips bodies of other types silently; we refuse them clearly. */
export const requireJsonBody: MiddlewareHandler<HonoEnv> = async function requireJsonBody(c, next) {
  const contentType = c.req.header("Content-Type");
  if (!contentType || !JSON_MEDIA_TYPE.test(contentType)) {
    throw new ApiError("bad_request", "Content-Type must be application/json");
  }
  await next();
};
