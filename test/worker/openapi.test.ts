import { env, exports } from "cloudflare:workers";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as z from "zod";
import packageJson from "../../package.json";
import { createApp } from "../../src/app.ts";
import { type Envelope, failureEnvelope } from "../../src/errors.ts";
import {
  renderDocsPage,
  SCALAR_BUNDLE_PATH,
  SCALAR_CONFIGURATION,
} from "../../src/openapi/docs-page.ts";
import { documentForOrigin, openApiDocument } from "../../src/openapi/document.ts";
import { JSON_SCHEMA_OPTIONS } from "../../src/openapi/json-schema.ts";
import type { JsonSchema, OpenApiDocument } from "../../src/openapi/types.ts";
import { createCheckoutBodySchema, tenantParamSchema } from "../../src/schemas/checkout.ts";
import { sessionIdParamSchema } from "../../src/schemas/params.ts";
import {
  checkoutDetailsSchema,
  checkoutViewSchema,
  createCheckoutResponseSchema,
  failureEnvelopeSchema,
} from "../../src/schemas/responses.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import {
  DOC,
  expectDocumented,
  type Method,
  ORIGIN,
  operation,
  operationsOf,
  resolve,
  validatorOf,
} from "./helpers/openapi.ts";
import { deliver, sessionEvent } from "./helpers/webhooks.ts";

const CREATE = "/api/v1/checkout-sessions";

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "description")
      .map(([key, inner]) => [key, withoutDescriptions(inner)]),
  );
}

describe("GET /openapi.json", () => {
  it("serves the document as JSON, with the request's own origin as its server", async () => {
    const response = await exports.default.fetch(new Request(`${ORIGIN}/openapi.json`));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    expect(response.headers.get("X-Request-Id")).toBeTruthy();
    const served = (await response.json()) as OpenApiDocument;
    expect(served).toEqual(DOC);
    expect(served.openapi).toBe("3.1.0");
    expect(served.servers).toEqual([{ url: ORIGIN, description: "This service" }]);

    const local = await exports.default.fetch(new Request("http://127.0.0.1:8787/openapi.json"));
    expect(((await local.json()) as OpenApiDocument).servers?.[0]?.url).toBe(
      "http://127.0.0.1:8787",
    );
  });

  it("is built once per isolate", () => {
    expect(openApiDocument()).toBe(openApiDocument());
    expect(documentForOrigin(ORIGIN).paths).toBe(openApiDocument().paths);
  });

  it("lists exactly the routes the app serves", () => {
    // The payment page also answers its trailing-slash form and truncated links with its HTML
    // pages (one operation, documented once), so those aliases are not operations of their own.
    const aliases = new Set(["/checkout", "/checkout/*", "/checkout/:hash/"]);
    const served = new Set(
      createApp()
        .routes.filter((route) => route.method !== "ALL" && !aliases.has(route.path))
        .map(
          (route) =>
            `${route.method.toUpperCase()} ${route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`,
        ),
    );
    const documented = new Set(
      operationsOf(DOC).map(({ method, path }) => `${method.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    expect(documented.size).toBe(19);
  });

  it("documents every operation completely", () => {
    for (const { method, path, operation } of operationsOf(DOC)) {
      const where = `${method} ${path}`;
      expect(operation.summary, where).toBeTruthy();
      expect(operation.description, where).toBeTruthy();
      expect(Array.isArray(operation.security), where).toBe(true);
      const parameters = operation.parameters.map((p) => resolve(p));
      expect(
        parameters.some((p) => p.name === "X-Request-Id" && p.in === "header"),
        where,
      ).toBe(true);
      // Every path template variable is a required path parameter.
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
        expect(
          parameters.some((p) => p.name === name && p.in === "path" && p.required),
          `${where}: ${name}`,
        ).toBe(true);
      }
      expect(operation.responses["405"]?.headers?.Allow, where).toBeDefined();
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(response.headers?.["X-Request-Id"], `${where} ${status}`).toBeDefined();
        if (status === "503" || status === "429") {
          expect(response.headers?.["Retry-After"], `${where} ${status}`).toBeDefined();
        }
        const failure = response.content?.["application/json"];
        if (Number(status) >= 400 && failure) {
          expect(failure.schema, `${where} ${status}`).toEqual({
            $ref: "#/components/schemas/Failure",
          });
          expect(Object.keys(failure.examples ?? {}).length, `${where} ${status}`).toBeGreaterThan(
            0,
          );
        }
      }
    }
    const page = operation("get", "/checkout/{hash}").responses;
    expect(page["303"]?.headers?.Location).toBeDefined();
    for (const status of ["403", "404", "410"]) {
      expect(Object.keys(page[status]?.content ?? {})).toEqual(["text/html"]);
    }
    for (const path of [CREATE, "/api/v1/checkout-sessions/{id}"]) {
      const tokenRoute = operation(path === CREATE ? "post" : "get", path);
      expect(tokenRoute.security).toContainEqual({ accessToken: [] });
      expect(tokenRoute.responses["200"]?.headers?.["Access-Control-Allow-Origin"]).toBeDefined();
    }
    expect(operation("post", "/api/v1/tenants/{tenantId}/checkout-sessions").security).toEqual([
      { apiKey: ["write"], apiKeyType: [], clientId: [] },
    ]);
    const signature = operation("post", "/api/v1/webhooks/stripe").parameters.map((p) =>
      resolve(p),
    );
    expect(signature).toContainEqual(
      expect.objectContaining({ name: "Stripe-Signature", in: "header", required: true }),
    );
  });

  it("describes the credentials as three API-key headers and a bearer JWT", () => {
    const schemes = DOC.components.securitySchemes;
    expect(schemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-API-KEY" });
    expect(schemes.apiKeyType).toMatchObject({ in: "header", name: "X-API-KEY-TYPE" });
    expect(schemes.clientId).toMatchObject({ in: "header", name: "X-CLIENT-ID" });
    expect(schemes.accessToken).toMatchObject({ type: "http", scheme: "bearer" });
    for (const claim of ["RS256", "aud", "iss", "exp", "nbf", "iat", "tenantId"]) {
      expect(schemes.accessToken?.description).toContain(claim);
    }
  });
});

describe("the document's schemas are the validators' schemas", () => {
  const bodySchema = DOC.components.schemas.CreateCheckoutBody as JsonSchema & {
    properties: Record<string, JsonSchema>;
    required: string[];
  };

  it("describes failures with exactly the envelope the one renderer writes", () => {
    expectTypeOf<z.output<typeof failureEnvelopeSchema>>().toEqualTypeOf<
      Extract<Envelope<never>, { success: false }>
    >();
    expect(failureEnvelopeSchema.parse(failureEnvelope("x"))).toEqual(failureEnvelope("x"));
  });

  it("generates the request body from createCheckoutBodySchema", () => {
    expect(bodySchema).toEqual(z.toJSONSchema(createCheckoutBodySchema, JSON_SCHEMA_OPTIONS));
    // The descriptions are the schema's own .meta(); nothing else is added to what zod makes.
    expect(bodySchema).toEqual(
      z.toJSONSchema(createCheckoutBodySchema, { target: "draft-2020-12", io: "input" }),
    );
    expect(withoutDescriptions(bodySchema)).not.toEqual(bodySchema);
    expect(Object.keys(bodySchema.properties).sort()).toEqual(
      [
        "allowedCountry",
        "billingAddressCollection",
        "isReverseCharge",
        "mode",
        "paymentMethodType",
        "price",
        "quantity",
        "state",
        "taxRate",
        "test",
      ].sort(),
    );
    expect(bodySchema.additionalProperties).toBe(false);
    expect(bodySchema.required).not.toContain("test");
    expect(bodySchema.properties.test).toMatchObject({ type: "boolean", default: false });

    for (const path of [CREATE, "/api/v1/tenants/{tenantId}/checkout-sessions"]) {
      expect(operation("post", path).requestBody?.content["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/CreateCheckoutBody",
      });
    }
  });

  it("generates the path parameters from the routes' param schemas", () => {
    const tenant = operation("post", "/api/v1/tenants/{tenantId}/checkout-sessions").parameters;
    const id = operation("get", "/api/v1/checkout-sessions/{id}").parameters;
    const props = (schema: z.ZodObject) =>
      (z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as { properties: Record<string, unknown> })
        .properties;
    expect(tenant.map((p) => resolve(p)).find((p) => p.name === "tenantId")?.schema).toEqual(
      props(tenantParamSchema).tenantId,
    );
    expect(id.map((p) => resolve(p)).find((p) => p.name === "id")?.schema).toEqual(
      props(sessionIdParamSchema).id,
    );
  });

  it("lists the response fields the views return", () => {
    const fields = (name: string) => {
      const schema = DOC.components.schemas[name] as {
        properties: { data: { properties: { checkout: { properties: object } } } };
      };
      return Object.keys(schema.properties.data.properties.checkout.properties).sort();
    };
    expect(fields("CreateCheckoutResponse")).toEqual(Object.keys(checkoutViewSchema.shape).sort());
    expect(fields("ReadCheckoutResponse")).toEqual(Object.keys(checkoutDetailsSchema.shape).sort());
  });

  it("has examples that its own schemas accept", () => {
    let count = 0;
    const operations = [...operationsOf(DOC), ...operationsOf(DOC, "webhooks")];
    for (const { method, path, operation } of operations) {
      const media = [
        ...Object.values(operation.requestBody?.content ?? {}),
        ...Object.values(operation.responses).flatMap((r) => Object.values(r.content ?? {})),
      ];
      for (const { schema, examples } of media) {
        for (const [name, example] of Object.entries(examples ?? {})) {
          const result = validatorOf(schema).safeParse(example.value);
          expect(result.error?.issues ?? [], `${method} ${path} example ${name}`).toEqual([]);
          count += 1;
        }
      }
    }
    expect(count).toBeGreaterThan(100);
  });
});

describe("the request examples work against the worker", () => {
  const examples = (path: string) =>
    Object.entries(
      operation("post", path).requestBody?.content["application/json"]?.examples ?? {},
    );

  it("has a payment, a subscription and a setup example that the validator accepts", () => {
    for (const path of [CREATE, "/api/v1/tenants/{tenantId}/checkout-sessions"]) {
      const modes = examples(path).map(([, example]) => {
        const parsed = createCheckoutBodySchema.safeParse(example.value);
        expect(parsed.error?.issues ?? []).toEqual([]);
        return parsed.data?.mode;
      });
      expect(modes.sort()).toEqual(["payment", "setup", "subscription"]);
    }
  });

  it("creates a checkout from each example, answering as documented", async () => {
    const { headers } = await givenWriter();
    for (const [name, example] of examples(CREATE)) {
      const res = await postJson(CREATE, example.value, headers);
      // setup needs a tenant's customer from an earlier checkout: without one, 409.
      expect(res.status, name).toBe(name === "setup" ? 409 : 200);
      await expectDocumented("post", CREATE, res.response, res.body);
      if (res.status === 200) {
        expect(createCheckoutResponseSchema.safeParse(res.body).success).toBe(true);
      }
    }

    // The same state for a tenant is another request (409 for this app): a fresh app.
    const other = await givenWriter();
    const tenantPath = `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`;
    const payment = examples(CREATE).find(([name]) => name === "payment")?.[1].value;
    const res = await postJson(tenantPath, payment, other.headers);
    expect(res.status).toBe(200);
    await expectDocumented(
      "post",
      "/api/v1/tenants/{tenantId}/checkout-sessions",
      res.response,
      res.body,
    );

    const id = (res.body.data as { checkout: { id: string } }).checkout.id;
    const read = await call(`/api/v1/checkout-sessions/${id}`, { headers: other.headers });
    expect(read.status).toBe(200);
    await expectDocumented("get", "/api/v1/checkout-sessions/{id}", read.response, read.body);
  });

  it("answers failures as documented", async () => {
    const { headers } = await givenWriter();
    const failures: [method: Method, template: string, path: string, init: RequestInit][] = [
      ["post", CREATE, CREATE, { method: "POST" }],
      ["post", CREATE, CREATE, { method: "POST", headers }],
      ["post", CREATE, CREATE, { method: "GET" }],
      ["get", "/api/v1/checkout-sessions/{id}", "/api/v1/checkout-sessions/nope", { headers }],
      [
        "get",
        "/api/v1/checkout-sessions/{id}",
        "/api/v1/checkout-sessions/cs_test_unknown",
        { headers },
      ],
      [
        "post",
        "/api/v1/tenants/{tenantId}/checkout-sessions",
        "/api/v1/tenants/not-a-uuid/checkout-sessions",
        {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/json" },
          body: JSON.stringify(validBody({ state: newState() })),
        },
      ],
      ["get", "/healthz", "/healthz", {}],
      ["get", "/healthz", "/healthz", { method: "DELETE" }],
      ["get", "/openapi.json", "/openapi.json", { method: "POST" }],
      ["get", "/docs", "/docs", { method: "PUT" }],
      ["post", "/api/v1/webhooks/stripe", "/api/v1/webhooks/stripe", { method: "POST" }],
    ];
    for (const [method, template, path, init] of failures) {
      const res = await call(path, init);
      await expectDocumented(method, template, res.response, res.body);
      if (res.status === 405) {
        expect(res.response.headers.get("Allow")).toBe(method.toUpperCase());
      }
    }
  });

  it("answers Stripe's webhook as documented", async () => {
    const event = sessionEvent("customer.created", { id: "cs_test_whatever" });
    const res = await deliver(event);
    expect(res.status).toBe(200);
    const schema = resolve(
      operation("post", "/api/v1/webhooks/stripe").responses["200"]?.content?.["application/json"]
        ?.schema ?? {},
    );
    expect(validatorOf(schema).safeParse(res.body).error?.issues ?? []).toEqual([]);
  });
});

describe("GET /docs", () => {
  it("serves Scalar's page with its own CSP: the one bundle, requests to this origin only", async () => {
    const response = await exports.default.fetch(new Request(`${ORIGIN}/docs`));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(response.headers.get("X-Request-Id")).toBeTruthy();
    expect(response.headers.get("Content-Security-Policy")).toBe(
      [
        "default-src 'none'",
        `script-src ${ORIGIN}/docs/scalar/standalone.js`,
        "style-src 'unsafe-inline'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join("; "),
    );
    const html = await response.text();
    expect(html).toContain('<meta name="viewport"');
    expect(html).toContain(`<title>checkout-edge API ${DOC.info.version}</title>`);

    // Two script elements: the configuration, a data block that is never run, and the bundle.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attributes]) => attributes?.trim())).toEqual([
      expect.stringMatching(/^id="api-reference" type="application\/json" data-configuration="/),
      `src="${SCALAR_BUNDLE_PATH}"`,
    ]);
    expect(scripts.map(([, , content]) => content)).toEqual(["", ""]);
    const attribute = /data-configuration="([^"]*)"/.exec(html)?.[1] ?? "";
    const configuration = JSON.parse(attribute.replaceAll("&quot;", '"').replaceAll("&amp;", "&"));
    expect(configuration).toEqual(SCALAR_CONFIGURATION);
    expect(configuration).toMatchObject({ url: "/openapi.json", withDefaultFonts: false });
    expect(configuration).not.toHaveProperty("proxyUrl");

    // Nothing from elsewhere: no absolute or protocol-relative URL, no style, no handlers.
    expect(html).not.toMatch(/https?:|\/\/[a-z0-9]/i);
    expect(html).not.toMatch(/<link|<style|<img|<iframe|\son[a-z]+=|style=/i);
  });

  it("has the bundle of the pinned @scalar/api-reference in the static assets", async () => {
    const version = packageJson.devDependencies["@scalar/api-reference"];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    // exports.default is the worker alone; the assets layer in front of it is the binding.
    const notTheWorker = await exports.default.fetch(new Request(`${ORIGIN}${SCALAR_BUNDLE_PATH}`));
    expect(notTheWorker.status).toBe(404);
    await notTheWorker.body?.cancel();

    const response = await env.ASSETS.fetch(new Request(`${ORIGIN}${SCALAR_BUNDLE_PATH}`));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    const bundle = await response.text();
    expect(bundle.length).toBeGreaterThan(1_000_000);
    expect(bundle).toContain(`@scalar/api-reference@${version}`);
    expect(bundle).toContain("window.Scalar={createApiReference:");
  });

  it("escapes the document's title and version", () => {
    const html = renderDocsPage({ title: `<script>alert("x")</script>`, version: "1&2" });
    expect(html).not.toContain("<script>alert");
    expect(html).toContain(
      "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; API 1&amp;2</title>",
    );
  });
});
