import * as z from "zod";

/**
 * Descriptions for the OpenAPI document. A registry of its own rather than zod's global one:
 * registering a schema here changes nothing about how it validates, and nothing outside the
 * document generator (src/openapi/) reads it.
 */
export const apiDocs = z.registry<{ description: string }>();
