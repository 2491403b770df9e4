import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { call, postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const CREATE = "/api/v1/checkout-sessions";

/** Each case: a body change, and the exact error the caller must read. */
const INVALID_BODIES: [string, Record<string, unknown>, string][] = [
  ["price missing", { price: undefined }, "price is required"],
  ["price not a string", { price: 42 }, "price must be a Stripe price id (price_…)"],
  ["price without prefix", { price: "prod_123" }, "price must be a Stripe price id (price_…)"],
  ["price with a space", { price: "price_ 1" }, "price must be a Stripe price id (price_…)"],
  ["quantity missing", { quantity: undefined }, "quantity is required"],
  ["quantity zero", { quantity: 0 }, "quantity must be a whole number from 1 to 999999"],
  ["quantity negative", { quantity: -1 }, "quantity must be a whole number from 1 to 999999"],
  ["quantity fractional", { quantity: 1.5 }, "quantity must be a whole number from 1 to 999999"],
  [
    "quantity beyond Stripe's limit",
    { quantity: 1_000_000 },
    "quantity must be a whole number from 1 to 999999",
  ],
  [
    "quantity beyond safe integers",
    { quantity: 2 ** 60 },
    "quantity must be a whole number from 1 to 999999",
  ],
  ["quantity as a string", { quantity: "1" }, "quantity must be a whole number from 1 to 999999"],
  ["taxRate missing", { taxRate: undefined }, "taxRate is required"],
  ["taxRate wrong prefix", { taxRate: "tax_1" }, "taxRate must be a Stripe tax rate id (txr_…)"],
  ["allowedCountry missing", { allowedCountry: undefined }, "allowedCountry is required"],
  [
    "allowedCountry lowercase",
    { allowedCountry: "de" },
    "allowedCountry must be an ISO 3166-1 alpha-2 country code in capitals that Stripe accepts, e.g. DE",
  ],
  [
    "allowedCountry three letters",
    { allowedCountry: "DEU" },
    "allowedCountry must be an ISO 3166-1 alpha-2 country code in capitals that Stripe accepts, e.g. DE",
  ],
  [
    "allowedCountry unknown to Stripe",
    { allowedCountry: "ZZ" },
    "allowedCountry must be an ISO 3166-1 alpha-2 country code in capitals that Stripe accepts, e.g. DE",
  ],
  [
    "allowedCountry Stripe does not ship to",
    { allowedCountry: "KP" },
    "allowedCountry must be an ISO 3166-1 alpha-2 country code in capitals that Stripe accepts, e.g. DE",
  ],
  ["paymentMethodType missing", { paymentMethodType: undefined }, "paymentMethodType is required"],
  [
    "paymentMethodType unknown",
    { paymentMethodType: "paypal" },
    "paymentMethodType must be one of card, sepa, sofort",
  ],
  [
    "paymentMethodType as Stripe spells it",
    { paymentMethodType: "sepa_debit" },
    "paymentMethodType must be one of card, sepa, sofort",
  ],
  [
    "billingAddressCollection missing",
    { billingAddressCollection: undefined },
    "billingAddressCollection is required",
  ],
  [
    "billingAddressCollection as a string",
    { billingAddressCollection: "true" },
    "billingAddressCollection must be true or false",
  ],
  ["mode missing", { mode: undefined }, "mode is required"],
  ["mode unknown", { mode: "donation" }, "mode must be one of payment, subscription, setup"],
  ["isReverseCharge missing", { isReverseCharge: undefined }, "isReverseCharge is required"],
  ["isReverseCharge a number", { isReverseCharge: 1 }, "isReverseCharge must be true or false"],
  ["test as a string", { test: "yes" }, "test must be true or false"],
  ["test null", { test: null }, "test must be true or false"],
  ["state missing", { state: undefined }, "state is required"],
  [
    "state too short",
    { state: "a".repeat(63) },
    "state must be exactly 64 characters from A-Z a-z 0-9 - _ . ~",
  ],
  [
    "state too long",
    { state: "a".repeat(65) },
    "state must be exactly 64 characters from A-Z a-z 0-9 - _ . ~",
  ],
  [
    "state with a character unsafe in a query",
    { state: `${"a".repeat(63)}&` },
    "state must be exactly 64 characters from A-Z a-z 0-9 - _ . ~",
  ],
  [
    "state with unicode",
    { state: `${"a".repeat(63)}é` },
    "state must be exactly 64 characters from A-Z a-z 0-9 - _ . ~",
  ],
  ["an unknown field", { currency: "eur" }, "Unknown field in body: currency"],
  [
    "two unknown fields",
    { currency: "eur", __proto__x: 1 },
    "Unknown fields in body: currency, __proto__x",
  ],
];

describe("body validation", () => {
  it.each(INVALID_BODIES)(
    "%s → 400 with the field's error, nothing sent or written",
    async (_name, change, error) => {
      const { app, headers } = await givenWriter();
      const body = { ...validBody({ state: newState() }), ...change };
      for (const [k, v] of Object.entries(change)) if (v === undefined) delete body[k];
      const res = await postJson(CREATE, body, headers);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ success: false, message: null, data: null, error });
      expect(stripe.requests).toHaveLength(0);
      expect(await rowsOfApp(app.id)).toHaveLength(0);
    },
  );

  it("names every wrong field at once", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(CREATE, validBody({ price: "x", quantity: 0 }), headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      "price must be a Stripe price id (price_…); quantity must be a whole number from 1 to 999999",
    );
  });

  it("refuses a __proto__ key as an unknown field, and pollutes nothing", async () => {
    const { headers } = await givenWriter();
    const body = `{${JSON.stringify(validBody({ state: newState() })).slice(1, -1)},"__proto__":{"isAdmin":true}}`;
    const res = await postJson(CREATE, body, headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Unknown field in body: __proto__");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it.each([
    ["an array", "[]"],
    ["a string", '"hello"'],
    ["null", "null"],
    ["a number", "7"],
  ])("answers a body that is %s with 400", async (_name, body) => {
    const { headers } = await givenWriter();
    const res = await postJson(CREATE, body, headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Request body must be a JSON object");
  });

  it("answers malformed JSON with 400", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(CREATE, '{"price": "price_1",', headers);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: "Malformed JSON in request body",
    });
  });

  it("answers an empty body with 400", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(CREATE, "", headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Malformed JSON in request body");
  });

  // What a fetch-based client sends for a string body when given a custom base URL (no
  // Content-Type of its own): the runtime labels it text/plain;charset=UTF-8.
  it("reads a JSON body labelled text/plain, as fetch labels a string body, and creates the checkout", async () => {
    const { app, headers } = await givenWriter();
    const body = JSON.stringify(validBody({ state: newState() }));
    const request = new Request(`https://pay.example.test${CREATE}`, {
      method: "POST",
      headers,
      body,
    });
    expect(request.headers.get("Content-Type")).toBe("text/plain;charset=UTF-8");
    const res = await call(CREATE, { method: "POST", headers, body });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe("Checkout session created");
    expect(await rowsOfApp(app.id)).toHaveLength(1);
    expect(stripe.creates()).toHaveLength(1);
  });

  it.each([
    ["text/plain in another charset", "text/plain; charset=iso-8859-1"],
    ["TEXT/PLAIN", "TEXT/PLAIN"],
    ["no Content-Type at all", null],
  ])("reads a JSON body with %s", async (_name, contentType) => {
    const { app, headers } = await givenWriter();
    const bytes = new TextEncoder().encode(JSON.stringify(validBody({ state: newState() })));
    const requestHeaders: Record<string, string> = { ...headers };
    if (contentType !== null) requestHeaders["Content-Type"] = contentType;
    // Bytes carry no Content-Type of their own, so "none" really sends none.
    const res = await call(CREATE, { method: "POST", headers: requestHeaders, body: bytes });
    expect(res.status).toBe(200);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("answers malformed JSON labelled text/plain like any malformed JSON", async () => {
    const { app, headers } = await givenWriter();
    const res = await call(CREATE, {
      method: "POST",
      headers: { ...headers, "Content-Type": "text/plain" },
      body: '{"price": "price_eur_once",',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Malformed JSON in request body");
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it.each([
    ["form-encoded", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["json with another charset", "application/json; charset=latin1"],
    ["xml", "application/xml"],
    ["a JSON suffix type", "application/merge-patch+json"],
  ])("answers a %s Content-Type with 415 naming the type it takes", async (_name, contentType) => {
    const { app, headers } = await givenWriter();
    const res = await call(CREATE, {
      method: "POST",
      headers: { ...headers, "Content-Type": contentType },
      body: JSON.stringify(validBody({ state: newState() })),
    });
    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error:
        "Content-Type must be application/json (a JSON body labelled text/plain, or sent without a Content-Type, is read as JSON too)",
    });
    expect(await rowsOfApp(app.id)).toHaveLength(0);
    expect(stripe.requests).toHaveLength(0);
  });

  it("reads the tenant route's body by the same content-type rules", async () => {
    const { app, headers } = await givenWriter();
    const path = `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`;
    const body = () => JSON.stringify(validBody({ state: newState() }));
    const plain = await call(path, { method: "POST", headers, body: body() });
    expect(plain.status, plain.body.error ?? "").toBe(200);
    const xml = await call(path, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/xml" },
      body: body(),
    });
    expect(xml.status).toBe(415);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("accepts application/json with charset utf-8", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "Content-Type": "application/json; charset=UTF-8",
    });
    expect(res.status).toBe(200);
  });

  it("answers a body over 8 KiB with 400 before reading it", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), padding: "x".repeat(9000) }),
      headers,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Request body is too large (at most 8192 bytes)");
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("answers an oversized body sent without Content-Length (streamed) with 400", async () => {
    const { headers } = await givenWriter();
    const chunk = new TextEncoder().encode("x".repeat(4096));
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await call(CREATE, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: stream,
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("Request body is too large (at most 8192 bytes)");
  });
});
