import type * as z from "zod";
import { appRecordSchema } from "../src/apps/records.ts";
import { CommandError, UsageError } from "./errors.ts";

/**
 * The commands validate with the worker's own schemas (src/apps/records.ts), so nothing is
 * written that the worker would refuse to read; these name the flag or the record in errors.
 */

export const appIdSchema = appRecordSchema.shape.id;

/** Parses with a schema and names the flag in the error. */
export function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.output<S>;
  const messages = new Set(result.error.issues.map((issue) => issue.message));
  throw new UsageError(`${what}: ${[...messages].join("; ")}`);
}

/** A stored value read back; `what` names it without the KV key, which may hold a digest. */
export function parseStored<S extends z.ZodType>(
  schema: S,
  raw: string,
  what: string,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new CommandError(`${what} in KV is not JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new CommandError(`${what} in KV does not match its schema`);
  return result.data as z.output<S>;
}
