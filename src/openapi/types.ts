/** The parts of OpenAPI 3.1 this service's document uses (https://spec.openapis.org/oas/v3.1.0). */

export type JsonSchema = Record<string, unknown>;
export interface Ref {
  $ref: string;
}

export interface HeaderObject {
  description: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header";
  description: string;
  required: boolean;
  schema: JsonSchema;
  example?: unknown;
}

export interface ExampleObject {
  summary: string;
  description?: string;
  value: unknown;
}

interface MediaTypeObject {
  schema: JsonSchema | Ref;
  examples?: Record<string, ExampleObject>;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | Ref>;
  content?: Record<string, MediaTypeObject>;
}

interface RequestBodyObject {
  description: string;
  required: boolean;
  content: Record<string, MediaTypeObject>;
}

export type SecurityRequirement = Record<string, string[]>;

export interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  security: SecurityRequirement[];
  parameters: (ParameterObject | Ref)[];
  requestBody?: RequestBodyObject;
  responses: Record<string, ResponseObject>;
}

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch"] as const;
type HttpMethod = (typeof HTTP_METHODS)[number];
export type PathItemObject = Partial<Record<HttpMethod, OperationObject>>;

type SecuritySchemeObject =
  | { type: "apiKey"; in: "header"; name: string; description: string }
  | { type: "http"; scheme: "bearer"; bearerFormat: string; description: string };

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; summary: string; description: string };
  servers?: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItemObject>;
  /** What the service POSTs to the apps' endpoints (OpenAPI 3.1's webhooks). */
  webhooks: Record<string, PathItemObject>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, ParameterObject>;
    headers: Record<string, HeaderObject>;
    securitySchemes: Record<string, SecuritySchemeObject>;
  };
}
