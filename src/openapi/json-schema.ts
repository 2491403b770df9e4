import * as z from "zod";
import type { JsonSchema, ParameterObject } from "./types.ts";

/**
 * How every schema of the document is made from zod: as zod reads input (`io: "input"`), so
 * `test` is optional with its default, and response objects do not forbid fields that a later
 * version may add. The descriptions are the schemas' own `.meta()` (zod's global registry),
 * which validation never reads.
 */
export const JSON_SCHEMA_OPTIONS = {
  target: "draft-2020-12",
  io: "input",
} as const satisfies z.core.ToJSONSchemaParams;

/** One path parameter per property of a zod object that a route validates its path with. */
export function pathParameters(schema: z.ZodObject): ParameterObject[] {
  const json = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema & {
    properties: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties).map(([name, property]) => ({
    name,
    in: "path",
    description: String(property.description ?? ""),
    required: true,
    schema: property,
  }));
}

export function jsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema;
}
