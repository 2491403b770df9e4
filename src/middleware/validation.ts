import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type * as z from "zod";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/** Joins zod's issues into one sentence that names each wrong field (bounded: the body has ten). */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
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

type BodyLabel = "json" | "plain" | "other";

/**
 * How a body is labelled. `application/json` (UTF-8, the only charset JSON has); `text/plain`
 * in any charset, or no label at all, is what fetch-based clients send for a string body, and is
 * read as JSON too (safe: API keys are refused from browsers, and tokens travel in
 * Authorization, which browsers always preflight). Anything else is refused.
 */
function bodyLabel(contentType: string | undefined): BodyLabel {
  if (contentType === undefined || contentType.trim() === "") return "plain";
  const [mediaType = "", ...parameters] = contentType.split(";").map((part) => part.trim());
  switch (mediaType.toLowerCase()) {
    case "application/json":
      return parameters.every((p) => /^charset="?utf-8"?$/i.test(p)) ? "json" : "other";
    case "text/plain":
      return "plain";
    default:
      return "other";
  }
}

/**
 * Reads and validates a JSON body, however it is labelled (see bodyLabel): 415 for another
 * type, 400 for malformed JSON or a body the schema refuses, each in words a developer can act on.
 * With `optional`, no body at all (and no label) is read as `{}` (a POST whose fields are all
 * optional, such as a redelivery).
 */
export function validateJsonBody<T extends z.ZodType>(
  schema: T,
  options: { optional?: boolean } = {},
) {
  return validator("json", async (parsedByHono, c): Promise<z.output<T>> => {
    const label = bodyLabel(c.req.header("Content-Type"));
    if (label === "other")
      throw new ApiError("unsupported_media_type", MESSAGES.unsupportedBodyType);
    let body: unknown = parsedByHono;
    if (label === "plain") {
      const text = await c.req.text();
      try {
        body = options.optional && text === "" ? {} : JSON.parse(text);
      } catch {
        throw new ApiError("bad_request", MESSAGES.malformedJson);
      }
    }
    const result = await schema.safeParseAsync(body);
    if (!result.success) throw new ApiError("bad_request", describeIssues(result.error.issues));
    return result.data;
  });
}
