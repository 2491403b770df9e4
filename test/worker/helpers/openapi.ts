import { expect } from "vitest";
import * as z from "zod";
import { documentForOrigin } from "../../../src/openapi/document.ts";
import {
  HTTP_METHODS,
  type JsonSchema,
  type OpenApiDocument,
  type OperationObject,
  type Ref,
  type ResponseObject,
} from "../../../src/openapi/types.ts";
import type { CallResult } from "./http.ts";

/** The served document, and how the OpenAPI tests read it and hold the worker's answers to it. */

export const ORIGIN = "https://pay.example.test";
export const DOC = documentForOrigin(ORIGIN);

export type Method = (typeof HTTP_METHODS)[number];

export function resolve<T>(value: T | Ref): T {
  if (typeof value !== "object" || value === null || !("$ref" in value)) return value as T;
  let target: unknown = DOC;
  for (const segment of value.$ref.replace(/^#\//, "").split("/")) {
    target = (target as Record<string, unknown>)[segment];
  }
  expect(target, `${value.$ref} resolves`).toBeDefined();
  return target as T;
}

export function operationsOf(document: OpenApiDocument, part: "paths" | "webhooks" = "paths") {
  return Object.entries(document[part]).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

export function operation(method: Method, path: string): OperationObject {
  const found = DOC.paths[path]?.[method];
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
}

/** Every JSON schema in the document is checked by turning it back into zod. */
export const validatorOf = (schema: JsonSchema | Ref) =>
  z.fromJSONSchema(resolve(schema) as z.core.JSONSchema.JSONSchema);

/**
 * A real answer of the worker must be one the document lists for its operation: the status,
 * the X-Request-Id header, and a JSON body that the documented schema for that status accepts.
 */
export async function expectDocumented(
  method: Method,
  path: string,
  response: Response,
  body: unknown,
) {
  const documented = operation(method, path).responses[String(response.status)];
  expect(documented, `${method} ${path} documents status ${response.status}`).toBeDefined();
  expect(response.headers.get("X-Request-Id")).toBeTruthy();
  const media = (documented as ResponseObject).content?.["application/json"];
  expect(media, `${response.status} of ${method} ${path} is JSON`).toBeDefined();
  const result = validatorOf(media?.schema ?? {}).safeParse(body);
  expect(result.error?.issues ?? []).toEqual([]);
  return resolve(media?.schema ?? {});
}

/** The error texts the document shows for this status. */
export const documentedErrors = (method: Method, path: string, status: number) =>
  Object.values(
    operation(method, path).responses[String(status)]?.content?.["application/json"]?.examples ??
      {},
  ).map((example) => (example.value as { error: string }).error);

/** A real failure: documented, and its text one of the document's examples for the status. */
export async function expectDocumentedFailure(method: Method, path: string, res: CallResult) {
  await expectDocumented(method, path, res.response, res.body);
  expect(documentedErrors(method, path, res.status), `${method} ${path} ${res.status}`).toContain(
    res.body.error,
  );
}
