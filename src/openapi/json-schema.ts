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

function parametersOf(schema: z.ZodObject, location: "path" | "query"): ParameterObject[] {
  const json = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema & {
    properties: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties).map(([name, property]) => ({
    name,
    in: location,
    description: String(property.description ?? ""),
    required: location === "path" || (json.required?.includes(name) ?? false),
    schema: property,
  }));
}

/** One path parameter per property of a zod object that a route validates its path with. */
export const pathParameters = (schema: z.ZodObject) => parametersOf(schema, "path");

/**
 * One query parameter per property of a zod object that a route validates its query with;
 * required as zod reads input (a property with a default is optional).
 */
export const queryParameters = (schema: z.ZodObject) => parametersOf(schema, "query");

export function jsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema;
}
