import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import * as z from "zod";
import type { Envelope } from "../../src/errors.ts";
import { MESSAGES } from "../../src/messages.ts";
import { JSON_SCHEMA_OPTIONS } from "../../src/openapi/json-schema.ts";
import type { JsonSchema, ParameterObject, Ref } from "../../src/openapi/types.ts";
import { EXAMPLE_SIGNATURES } from "../../src/openapi/webhook-event-examples.ts";
import {
  ENDPOINT_CREATED_EXAMPLE,
  EXAMPLE_SIGNING_SECRET,
} from "../../src/openapi/webhook-examples.ts";
import { type answerEnvelope, deletedAnswerSchema } from "../../src/openapi/webhook-schemas.ts";
import { signEvent } from "../../src/outbound/signing.ts";
import {
  createEndpointBodySchema,
  endpointParamSchema,
  eventParamSchema,
  listDeliveriesQuerySchema,
  listEndpointsQuerySchema,
  listEventsQuerySchema,
  OUTBOUND_EVENT_TYPES,
  redeliverBodySchema,
  updateEndpointBodySchema,
} from "../../src/schemas/outbound.ts";
import {
  deliveryListAnswerSchema,
  endpointAnswerSchema,
  endpointListAnswerSchema,
  endpointWithSecretAnswerSchema,
  eventListAnswerSchema,
  OBJECT_KIND_OF,
  outboundEventSchema,
  redeliverAnswerSchema,
} from "../../src/schemas/outbound-views.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import { call, postJson } from "./helpers/http.ts";
import {
  DOC,
  documentedErrors,
  expectDocumented,
  expectDocumentedFailure,
  type Method,
  operation,
  operationsOf,
  resolve,
  validatorOf,
} from "./helpers/openapi.ts";
import {
  DELIVERIES,
  ENDPOINT,
  ENDPOINTS,
  EVENTS,
  json,
  paidCheckout,
  REDELIVER,
  ROTATE,
  registered,
} from "./helpers/openapi-webhooks.ts";
import { eventually, newReceiver, type Received } from "./helpers/receivers.ts";

/**
 * The outbound webhook part of the document: its operations are made from the routes' own
 * schemas, its examples really work against the worker (the endpoints of the request examples
 * are created, read, changed, rotated and deleted; an event is listed, its deliveries too, and
 * it is redelivered to a test receiver with each redeliver example), and its webhooks are what
 * an endpoint really receives. Its failures: openapi-webhook-failures.test.ts.
 */

const OPERATIONS: [Method, string, "read" | "write"][] = [
  ["post", ENDPOINTS, "write"],
  ["get", ENDPOINTS, "read"],
  ["get", ENDPOINT, "read"],
  ["patch", ENDPOINT, "write"],
  ["delete", ENDPOINT, "write"],
  ["post", ROTATE, "write"],
  ["get", EVENTS, "read"],
  ["get", DELIVERIES, "read"],
  ["post", REDELIVER, "write"],
];

const props = (schema: z.ZodType) => {
  const { $schema: _, ...json } = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema;
  return json as JsonSchema & { properties: Record<string, JsonSchema> };
};

const bodyExamples = (method: Method, path: string) =>
  Object.entries(
    operation(method, path).requestBody?.content["application/json"]?.examples ?? {},
  ).map(([name, example]) => [name, example.value as Record<string, unknown>] as const);

afterEach(() => {
  vi.useRealTimers();
});

describe("the webhook routes in the document", () => {
  it("are for API keys only, from the routes' own schemas", () => {
    for (const [method, path, needs] of OPERATIONS) {
      const op = operation(method, path);
      expect(op.security, `${method} ${path}`).toEqual([
        { apiKey: needs === "read" ? ["read", "write"] : ["write"], apiKeyType: [], clientId: [] },
      ]);
      expect(documentedErrors(method, path, 403)).toEqual(
        expect.arrayContaining([
          MESSAGES.tokenOnKeyRoute,
          MESSAGES.keyFromBrowser,
          ...(needs === "write" ? [MESSAGES.readKey] : []),
        ]),
      );
    }

    const schemas = DOC.components.schemas;
    const generated = (schema: z.ZodType) => z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS);
    expect(schemas.CreateWebhookEndpointBody).toEqual(generated(createEndpointBodySchema));
    expect(schemas.UpdateWebhookEndpointBody).toEqual(generated(updateEndpointBodySchema));
    expect(schemas.RedeliverBody).toEqual(generated(redeliverBodySchema));
    expect(schemas.OutboundEvent).toEqual(generated(outboundEventSchema));
    const data = (name: string) =>
      (schemas[name] as { properties: { data: JsonSchema } }).properties.data;
    expect(data("WebhookEndpointResponse")).toEqual(props(endpointAnswerSchema));
    expect(data("WebhookEndpointWithSecretResponse")).toEqual(
      props(endpointWithSecretAnswerSchema),
    );
    expect(data("WebhookEndpointListResponse")).toEqual(props(endpointListAnswerSchema));
    expect(data("WebhookEndpointDeletedResponse")).toEqual(props(deletedAnswerSchema));
    expect(data("WebhookEventListResponse")).toEqual(props(eventListAnswerSchema));
    expect(data("WebhookDeliveryListResponse")).toEqual(props(deliveryListAnswerSchema));
    expect(data("RedeliverResponse")).toEqual(props(redeliverAnswerSchema));
    expectTypeOf<
      z.output<ReturnType<typeof answerEnvelope<typeof endpointAnswerSchema>>>
    >().toEqualTypeOf<
      Extract<Envelope<z.output<typeof endpointAnswerSchema>>, { success: true }>
    >();

    const parameters = (method: Method, path: string, where: "path" | "query") =>
      Object.fromEntries(
        operation(method, path)
          .parameters.map((p) => resolve<ParameterObject>(p as ParameterObject | Ref))
          .filter((p) => p.in === where)
          .map((p) => [p.name, p.schema]),
      );
    expect(parameters("get", ENDPOINTS, "query")).toEqual(
      props(listEndpointsQuerySchema).properties,
    );
    expect(parameters("get", EVENTS, "query")).toEqual(props(listEventsQuerySchema).properties);
    expect(parameters("get", DELIVERIES, "query")).toEqual(
      props(listDeliveriesQuerySchema).properties,
    );
    for (const method of ["get", "patch", "delete"] as const) {
      expect(parameters(method, ENDPOINT, "path")).toEqual(props(endpointParamSchema).properties);
    }
    expect(parameters("post", REDELIVER, "path")).toEqual(props(eventParamSchema).properties);
    expect(operation("post", REDELIVER).requestBody?.required).toBe(false);
  });

  it("has a webhook per event type: the signed POST, its body and what success is", async () => {
    expect(Object.keys(DOC.webhooks).sort()).toEqual([...OUTBOUND_EVENT_TYPES].sort());
    const kinds = new Set<string>();
    for (const { path: type, operation: post } of operationsOf(DOC, "webhooks")) {
      const headers = post.parameters as ParameterObject[];
      expect(headers.map((h) => [h.name, h.in, h.required])).toEqual([
        ["webhook-id", "header", true],
        ["webhook-timestamp", "header", true],
        ["webhook-signature", "header", true],
      ]);
      expect(Object.keys(post.responses)).toEqual(["2XX", "default"]);
      expect(post.responses["2XX"]?.description).toContain("2xx within 15 seconds");
      const media = post.requestBody?.content["application/json"];
      expect(media?.schema).toEqual({ $ref: "#/components/schemas/OutboundEvent" });
      const examples = Object.values(media?.examples ?? {});
      expect(examples).toHaveLength(1);
      const event = outboundEventSchema.parse(examples[0]?.value);
      expect(event.type).toBe(type);
      expect(event.object.kind).toBe(OBJECT_KIND_OF[event.type]);
      kinds.add(event.object.kind);

      // The headers' examples are the example's own, signed by the service's code.
      const example = Object.fromEntries(headers.map((h) => [h.name, String(h.example)]));
      const { timestamp, signature } = EXAMPLE_SIGNATURES[event.type];
      const body = JSON.stringify(event);
      expect(await signEvent([EXAMPLE_SIGNING_SECRET], event.id, timestamp, body)).toEqual(example);
      expect(example["webhook-signature"]).toBe(signature);
      // …which the Standard Webhooks reference library accepts, at the time they were signed.
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(timestamp * 1000);
      expect(new Webhook(EXAMPLE_SIGNING_SECRET).verify(body, example)).toEqual(event);
      vi.useRealTimers();
    }
    expect([...kinds].sort()).toEqual(["checkout", "invoice", "subscription"]);
    const created = ENDPOINT_CREATED_EXAMPLE.created.value.data?.endpoint;
    expect(created?.secret).toBe(EXAMPLE_SIGNING_SECRET);
  });
});

describe("the webhook examples work against the worker", () => {
  it("registers, lists, reads, changes, rotates and deletes the example endpoints", async () => {
    // Never an event of this app: nothing is POSTed to the examples' host.
    const { app, headers } = await givenWriter({ liveEnabled: true });
    const reader = (await givenKey(app.id, "read")).headers;
    const ids: string[] = [];
    const examples = bodyExamples("post", ENDPOINTS);
    expect(examples.map(([name]) => name)).toEqual(["all", "billing", "live"]);
    for (const [name, body] of examples) {
      const res = await postJson(ENDPOINTS, body, headers);
      expect(res.status, name).toBe(201);
      await expectDocumented("post", ENDPOINTS, res.response, res.body);
      const { endpoint } = endpointWithSecretAnswerSchema.parse(res.body.data);
      expect(endpoint).toMatchObject({ url: body.url, livemode: body.test !== true });
      expect(endpoint.eventTypes).toEqual(body.eventTypes ?? null);
      ids.push(endpoint.id);
    }

    for (const [query, count] of [
      ["?test=true", 2],
      ["", 1],
    ] as const) {
      const list = await call(`${ENDPOINTS}${query}`, { headers: reader });
      expect(list.status).toBe(200);
      await expectDocumented("get", ENDPOINTS, list.response, list.body);
      expect(endpointListAnswerSchema.parse(list.body.data).endpoints).toHaveLength(count);
      expect(JSON.stringify(list.body)).not.toContain("whsec_");
    }

    const [first = ""] = ids;
    const read = await call(`${ENDPOINTS}/${first}`, { headers: reader });
    expect(read.status).toBe(200);
    await expectDocumented("get", ENDPOINT, read.response, read.body);
    expect(endpointAnswerSchema.parse(read.body.data).endpoint.id).toBe(first);

    for (const [name, body] of bodyExamples("patch", ENDPOINT)) {
      const res = await call(`${ENDPOINTS}/${first}`, json("PATCH", body, headers));
      expect(res.status, name).toBe(200);
      await expectDocumented("patch", ENDPOINT, res.response, res.body);
      const { endpoint } = endpointAnswerSchema.parse(res.body.data);
      if (body.enabled !== undefined)
        expect(endpoint.status, name).toBe(body.enabled ? "enabled" : "disabled");
      if (body.url !== undefined) expect(endpoint.url).toBe(body.url);
    }

    const rotated = await call(`${ENDPOINTS}/${first}/rotate-secret`, { method: "POST", headers });
    expect(rotated.status).toBe(200);
    await expectDocumented("post", ROTATE, rotated.response, rotated.body);
    expect(
      endpointWithSecretAnswerSchema.parse(rotated.body.data).endpoint.previousSecretValidUntil,
    ).not.toBeNull();

    for (const id of ids) {
      const res = await call(`${ENDPOINTS}/${id}`, { method: "DELETE", headers });
      expect(res.status).toBe(200);
      await expectDocumented("delete", ENDPOINT, res.response, res.body);
      expect(deletedAnswerSchema.parse(res.body.data)).toEqual({ deleted: true });
      const gone = await call(`${ENDPOINTS}/${id}`, { headers: reader });
      expect(gone.status).toBe(404);
      await expectDocumentedFailure("get", ENDPOINT, gone);
    }
  });

  it("lists an event and its deliveries, redelivers it with each example, and the receiver gets the documented POST", async () => {
    const { app, headers } = await givenWriter();
    const reader = (await givenKey(app.id, "read")).headers;
    const event = await paidCheckout(headers);

    const events = await call(`${EVENTS}?test=true&limit=10`, { headers: reader });
    expect(events.status).toBe(200);
    await expectDocumented("get", EVENTS, events.response, events.body);
    expect(eventListAnswerSchema.parse(events.body.data).events.map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
    ]);

    // Registered after the event: it gets the event only by a redelivery.
    const receiver = newReceiver();
    const endpoint = await registered(headers, { url: receiver.url, test: true });
    const none = await call(`${DELIVERIES}?eventId=${event.id}`, { headers: reader });
    expect(none.status).toBe(200);
    await expectDocumented("get", DELIVERIES, none.response, none.body);
    expect(deliveryListAnswerSchema.parse(none.body.data).deliveries).toEqual([]);

    const path = `${EVENTS}/${event.id}/redeliver`;
    const bodies = bodyExamples("post", REDELIVER);
    expect(bodies.map(([name]) => name)).toEqual(["everywhere", "one"]);
    const inits: RequestInit[] = [
      ...bodies.map(([, body]) =>
        json("POST", body.endpointId ? { endpointId: endpoint.id } : body, headers),
      ),
      { method: "POST", headers }, // no body at all
    ];
    for (const init of inits) {
      const res = await call(path, init);
      expect(res.status, String(init.body)).toBe(202);
      await expectDocumented("post", REDELIVER, res.response, res.body);
      const { deliveries } = redeliverAnswerSchema.parse(res.body.data);
      expect(deliveries.map((d) => [d.eventId, d.endpointId, d.status])).toEqual([
        [event.id, endpoint.id, "pending"],
      ]);
    }

    const received = await eventually<Received>(async () => receiver.requests[0]);
    const sent = validatorOf(resolve<JsonSchema>({ $ref: "#/components/schemas/OutboundEvent" }));
    expect(sent.safeParse(JSON.parse(received.body)).error?.issues ?? []).toEqual([]);
    expect(JSON.parse(received.body)).toEqual(event);
    const signed = DOC.webhooks[event.type]?.post?.parameters as ParameterObject[];
    for (const header of signed) {
      const value = received.headers[header.name] ?? "";
      expect(value, header.name).toMatch(new RegExp(String(header.schema.pattern)));
    }
    expect(received.headers["webhook-id"]).toBe(event.id);
    expect(received.headers["content-type"]).toBe("application/json");
    expect(new Webhook(endpoint.secret).verify(received.body, received.headers)).toEqual(event);

    const delivered = await eventually(async () => {
      const res = await call(`${DELIVERIES}?endpointId=${endpoint.id}`, { headers: reader });
      const [first] = deliveryListAnswerSchema.parse(res.body.data).deliveries;
      return first?.status === "delivered" && res;
    });
    await expectDocumented("get", DELIVERIES, delivered.response, delivered.body);
    const ofEvent = await call(`${DELIVERIES}?eventId=${event.id}&limit=1`, { headers: reader });
    await expectDocumented("get", DELIVERIES, ofEvent.response, ofEvent.body);
    expect(deliveryListAnswerSchema.parse(ofEvent.body.data).deliveries[0]?.attempts).not.toEqual(
      [],
    );
  });
});
