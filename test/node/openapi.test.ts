import { readFile } from "node:fs/promises";
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { API_VERSION, documentForOrigin } from "../../src/openapi/document.ts";

// The validator reads its OpenAPI meta-schemas with node:fs, which workerd does not have, so
// the document is checked here, built by the same function the worker serves it from
// (test/worker/openapi.test.ts checks that the served document is exactly this one).
describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const document = documentForOrigin("http://127.0.0.1:8787");
    const validator = new Validator();
    const result = await validator.validate(
      structuredClone(document) as unknown as Record<string, unknown>,
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("fails the validator when it is broken, so the check above means something", async () => {
    const broken = structuredClone(documentForOrigin("http://127.0.0.1:8787")) as unknown as {
      paths: Record<string, Record<string, { responses: unknown }>>;
    };
    const create = broken.paths["/api/v1/checkout-sessions"]?.post;
    if (!create) throw new Error("no create operation");
    create.responses = { 200: { headers: {} } };
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it("carries package.json's version", async () => {
    const pkg = JSON.parse(
      await readFile(path.join(import.meta.dirname, "../../package.json"), "utf8"),
    ) as { version: string };
    expect(API_VERSION).toBe(pkg.version);
  });
});
