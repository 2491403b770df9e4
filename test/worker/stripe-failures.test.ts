import { describe, expect, it } from "vitest";
import type { Fault } from "../../stripe-double/double.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const CREATE = "/api/v1/checkout-sessions";

describe("Stripe refusing the request", () => {
  it("turns a price Stripe does not know into a 400 naming the field, and frees the state", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState(), price: "price_does_not_exist" });
    const res = await postJson(CREATE, body, headers);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: "Stripe refused the checkout session (price): No such price: 'price_does_not_exist'",
    });
    expect(await rowsOfApp(app.id)).toHaveLength(0);

    // The state was not used up: the corrected request with it succeeds.
    const fixed = await postJson(CREATE, { ...body, price: "price_eur_once" }, headers);
    expect(fixed.status).toBe(200);
    expect(await rowsOfApp(app.id)).toHaveLength(1);
  });

  it("passes on Stripe's refusal of SEPA for a non-euro price", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), price: "price_usd_once", paymentMethodType: "sepa" }),
      headers,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(
      /^Stripe refused the checkout session \(paymentMethodType\): The payment method type provided: sepa_debit is invalid/,
    );
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("passes on Stripe's refusal of a one-time price in subscription mode", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), mode: "subscription" }),
      headers,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      "Stripe refused the checkout session (price): You must provide at least one recurring price in `subscription` mode when using prices.",
    );
  });

  it("passes on Stripe's refusal of an unknown tax rate", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), taxRate: "txr_unknown" }),
      headers,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      "Stripe refused the checkout session (taxRate): No such tax rate: 'txr_unknown'",
    );
  });
});

describe("Stripe failing", () => {
  const cases: [string, Fault[], number, string][] = [
    [
      "a 500 on every attempt",
      [
        { kind: "status", status: 500 },
        { kind: "status", status: 500 },
      ],
      502,
      "Stripe failed to create the checkout session; retry the same request (same state)",
    ],
    [
      "a 503 on every attempt",
      [
        { kind: "status", status: 503 },
        { kind: "status", status: 503 },
      ],
      503,
      "Stripe is unavailable; retry the same request (same state) later",
    ],
    [
      "a 429",
      [{ kind: "status", status: 429 }],
      503,
      "Stripe is rate limiting requests; retry in a few seconds",
    ],
    [
      "a timeout on every attempt",
      [{ kind: "timeout" }, { kind: "timeout" }],
      504,
      "Stripe did not answer in time; retry the same request (same state)",
    ],
    [
      "a dropped connection on every attempt",
      [{ kind: "network" }, { kind: "network" }],
      502,
      "Could not reach Stripe; retry the same request (same state)",
    ],
    [
      "garbage instead of JSON on every attempt",
      [{ kind: "garbage" }, { kind: "garbage" }],
      502,
      "Stripe failed to create the checkout session; retry the same request (same state)",
    ],
    [
      // Stripe's answer while another request with the key still executes; the SDK makes it a
      // plain API error (not an idempotency error), which once read as Stripe refusing the
      // checkout and freed the state.
      "a 409 (the key in flight) on every attempt",
      [
        { kind: "status", status: 409, type: "idempotency_error" },
        { kind: "status", status: 409, type: "idempotency_error" },
      ],
      503,
      "Another request for the checkout session is still in progress at Stripe; retry shortly",
    ],
    [
      "a 401 for the service's key",
      [{ kind: "status", status: 401, type: "invalid_request_error" }],
      502,
      "Stripe refused this service's test-mode API key; the operator must check it",
    ],
  ];

  it.each(cases)(
    "answers %s with the mapped status and records no session",
    async (_name, faults, status, error) => {
      const { app, headers } = await givenWriter();
      stripe.fail(...faults);
      const res = await postJson(CREATE, validBody({ state: newState() }), headers);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ success: false, message: null, data: null, error });
      const rows = await rowsOfApp(app.id);
      for (const row of rows)
        expect(row).toMatchObject({ status: "pending", stripe_session_id: null, stripe_url: null });
      expect(stripe.sessions.size).toBe(0);
      // Anything but Stripe's refusal may pass: the state stays reserved for the same request.
      if (status !== 400) expect(rows).toHaveLength(1);
    },
  );

  it("sets Retry-After when Stripe rate limits", async () => {
    const { headers } = await givenWriter();
    stripe.fail({ kind: "status", status: 429 });
    const res = await postJson(CREATE, validBody({ state: newState() }), headers);
    expect(res.response.headers.get("Retry-After")).toBe("2");
  });

  it("retries once, with the same Idempotency-Key, and succeeds when Stripe recovers", async () => {
    const { app, headers } = await givenWriter();
    stripe.fail({ kind: "status", status: 500 });
    const res = await postJson(CREATE, validBody({ state: newState() }), headers);
    expect(res.status).toBe(200);
    const creates = stripe.creates();
    expect(creates).toHaveLength(2);
    expect(creates[0]?.headers["idempotency-key"]).toBe(creates[1]?.headers["idempotency-key"]);
    expect(stripe.sessions.size).toBe(1);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("open");
  });

  it("lets the same request succeed, with one session and one row, after Stripe recovers", async () => {
    const { app, headers } = await givenWriter();
    const body = validBody({ state: newState() });
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    expect((await postJson(CREATE, body, headers)).status).toBe(503);
    const res = await postJson(CREATE, body, headers);
    expect(res.status).toBe(200);
    expect(stripe.sessions.size).toBe(1);
    const rows = await rowsOfApp(app.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe("open");
  });
});
