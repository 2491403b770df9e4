import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto.ts";
import { REVERSE_CHARGE_FOOTER } from "../../src/stripe/params.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { givenTenantCustomer } from "./helpers/billing.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const CREATE = "/api/v1/checkout-sessions";

describe("POST /api/v1/checkout-sessions with a write API key", () => {
  it("creates a payment checkout: answers the envelope, records the row, and sends Stripe exactly these fields", async () => {
    const { app, headers } = await givenWriter();
    const state = newState();
    const before = Math.floor(Date.now() / 1000);

    const res = await postJson(CREATE, validBody({ state, quantity: 3 }), headers);

    expect(res.status).toBe(200);
    expect(res.response.headers.get("Content-Type")).toMatch(/^application\/json/);
    const checkout = (res.body.data as { checkout: Record<string, unknown> }).checkout;
    expect(res.body).toMatchObject({
      success: true,
      message: "Checkout session created",
      error: null,
    });
    expect(Object.keys(res.body).sort()).toEqual(["data", "error", "message", "success"]);
    expect(checkout.id).toMatch(/^cs_test_/);
    expect(checkout.hash).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(checkout.nextAction).toEqual({
      url: `https://pay.example.test/checkout/${checkout.hash}`,
    });
    expect(checkout).toMatchObject({
      status: "open",
      mode: "payment",
      livemode: false,
      tenantId: null,
    });

    const [create, ...others] = stripe.creates();
    expect(others).toHaveLength(0);
    if (!create) throw new Error("no create request");
    expect(create.headers.authorization).toBe("Bearer sk_test_double_0123456789");
    expect(create.headers["stripe-account"]).toBeUndefined();
    expect(create.headers["idempotency-key"]).toMatch(/^checkout-edge-session-[0-9a-f]{64}$/);
    const expiresAt = Number(create.form.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60 * 60);
    expect(expiresAt).toBeLessThanOrEqual(before + 60 * 60 + 5);
    expect(create.form).toEqual({
      mode: "payment",
      success_url: "https://app.example.test/billing/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://app.example.test/billing/cancel",
      "allowed_payment_method_types[0]": "card",
      billing_address_collection: "required",
      expires_at: String(expiresAt),
      "metadata[app_id]": app.id,
      "metadata[checkout_hash]": String(checkout.hash),
      "line_items[0][price]": "price_eur_once",
      "line_items[0][quantity]": "3",
      "line_items[0][tax_rates][0]": "txr_vat_de_19",
      "shipping_address_collection[allowed_countries][0]": "DE",
      "payment_intent_data[metadata][app_id]": app.id,
      "payment_intent_data[metadata][checkout_hash]": String(checkout.hash),
      "invoice_creation[enabled]": "true",
      "invoice_creation[invoice_data][metadata][app_id]": app.id,
      "invoice_creation[invoice_data][metadata][checkout_hash]": String(checkout.hash),
      customer_creation: "always",
    });

    const [row, ...more] = await rowsOfApp(app.id);
    expect(more).toHaveLength(0);
    expect(row).toMatchObject({
      hash: checkout.hash,
      tenant_id: null,
      livemode: 0,
      state_digest: await sha256Hex(state),
      status: "open",
      stripe_session_id: checkout.id,
      stripe_url: stripe.sessions.get(String(checkout.id))?.url,
      stripe_account: null,
      mode: "payment",
      price: "price_eur_once",
      quantity: 3,
      tax_rate: "txr_vat_de_19",
      allowed_country: "DE",
      payment_method: "card",
      billing_address_collection: 1,
      reverse_charge: 0,
      expires_at: expiresAt,
      opened_at: null,
      completed_at: null,
    });
    // The state itself is never stored or sent anywhere.
    expect(JSON.stringify(row)).not.toContain(state);
    expect(JSON.stringify(create)).not.toContain(state);
  });

  it("creates a subscription checkout with SEPA Debit and the subscription's metadata", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({
        state: newState(),
        mode: "subscription",
        price: "price_eur_monthly",
        paymentMethodType: "sepa",
        billingAddressCollection: false,
      }),
      headers,
    );
    expect(res.status).toBe(200);
    const form = stripe.creates()[0]?.form ?? {};
    expect(form.mode).toBe("subscription");
    expect(form["allowed_payment_method_types[0]"]).toBe("sepa_debit");
    expect(form.billing_address_collection).toBe("auto");
    expect(form["subscription_data[metadata][app_id]"]).toBe(app.id);
    expect(form["line_items[0][price]"]).toBe("price_eur_monthly");
    expect(form["invoice_creation[enabled]"]).toBeUndefined();
    expect(form.customer_creation).toBeUndefined();
    expect(Object.keys(form).some((k) => k.startsWith("payment_intent_data"))).toBe(false);
    expect((await rowsOfApp(app.id))[0]).toMatchObject({
      mode: "subscription",
      payment_method: "sepa",
      billing_address_collection: 0,
    });
  });

  it("creates a payment checkout with SEPA Debit", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), paymentMethodType: "sepa" }),
      headers,
    );
    expect(res.status).toBe(200);
    expect(stripe.creates()[0]?.form["allowed_payment_method_types[0]"]).toBe("sepa_debit");
  });

  it("creates a subscription checkout paid by card", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), mode: "subscription", price: "price_usd_monthly" }),
      headers,
    );
    expect(res.status).toBe(200);
    expect(stripe.creates()[0]?.form).toMatchObject({
      mode: "subscription",
      "allowed_payment_method_types[0]": "card",
    });
  });

  it("answers sofort with a clear 400 naming the alternatives, without calling Stripe or writing a row", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      CREATE,
      validBody({ state: newState(), paymentMethodType: "sofort" }),
      headers,
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error:
        "paymentMethodType sofort is no longer available: Stripe discontinued SOFORT on 2025-03-31. Use card or sepa instead",
    });
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("keeps an existing query on the success URL and adds the session id template", async () => {
    const { headers } = await givenWriter({
      successUrl: "https://app.example.test/done?plan=pro#top",
    });
    await postJson(CREATE, validBody({ state: newState() }), headers);
    expect(stripe.creates()[0]?.form.success_url).toBe(
      "https://app.example.test/done?plan=pro&session_id={CHECKOUT_SESSION_ID}#top",
    );
  });

  it("sends the app's connected account for test mode as Stripe-Account", async () => {
    const { app, headers } = await givenWriter({
      stripeAccountTest: "acct_test123",
      stripeAccountLive: "acct_live456",
    });
    await postJson(CREATE, validBody({ state: newState() }), headers);
    expect(stripe.creates()[0]?.headers["stripe-account"]).toBe("acct_test123");
    expect((await rowsOfApp(app.id))[0]?.stripe_account).toBe("acct_test123");
  });

  it("uses the live key and the live account when the app is enabled for live mode", async () => {
    const { app, headers } = await givenWriter({
      liveEnabled: true,
      stripeAccountTest: "acct_test123",
      stripeAccountLive: "acct_live456",
    });
    const res = await postJson(CREATE, validBody({ state: newState(), test: false }), headers);
    expect(res.status).toBe(200);
    const create = stripe.creates()[0];
    expect(create?.headers.authorization).toBe("Bearer sk_live_double_0123456789");
    expect(create?.headers["stripe-account"]).toBe("acct_live456");
    expect(
      (res.body.data as { checkout: { id: string; livemode: boolean } }).checkout,
    ).toMatchObject({ livemode: true });
    expect((await rowsOfApp(app.id))[0]).toMatchObject({
      livemode: 1,
      stripe_account: "acct_live456",
    });
  });

  it("treats a missing test flag as live mode", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const { test: _test, ...body } = validBody({ state: newState() });
    const res = await postJson(CREATE, body, headers);
    expect(res.status).toBe(200);
    expect(stripe.creates()[0]?.headers.authorization).toBe("Bearer sk_live_double_0123456789");
  });

  it("marks a reverse-charge checkout: VAT id collection and the invoice footer", async () => {
    const { headers } = await givenWriter();
    await postJson(
      CREATE,
      validBody({ state: newState(), isReverseCharge: true, taxRate: "txr_reverse_charge_0" }),
      headers,
    );
    const form = stripe.creates()[0]?.form ?? {};
    expect(form["tax_id_collection[enabled]"]).toBe("true");
    expect(form["invoice_creation[invoice_data][footer]"]).toBe(REVERSE_CHARGE_FOOTER);
    expect(form["line_items[0][tax_rates][0]"]).toBe("txr_reverse_charge_0");
  });

  it("puts the reverse-charge footer on subscription invoices", async () => {
    const { headers } = await givenWriter();
    await postJson(
      CREATE,
      validBody({
        state: newState(),
        isReverseCharge: true,
        mode: "subscription",
        price: "price_eur_monthly",
      }),
      headers,
    );
    expect(stripe.creates()[0]?.form["subscription_data[invoice_settings][footer]"]).toBe(
      REVERSE_CHARGE_FOOTER,
    );
  });
});

describe("POST /api/v1/tenants/:tenantId/checkout-sessions", () => {
  it("records the tenant and sends it as client_reference_id and metadata", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const res = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      validBody({ state: newState() }),
      headers,
    );
    expect(res.status).toBe(200);
    expect((res.body.data as { checkout: { tenantId: string } }).checkout.tenantId).toBe(tenantId);
    const form = stripe.creates()[0]?.form ?? {};
    expect(form.client_reference_id).toBe(tenantId);
    expect(form["metadata[tenant_id]"]).toBe(tenantId);
    expect(form["payment_intent_data[metadata][tenant_id]"]).toBe(tenantId);
    expect((await rowsOfApp(app.id))[0]?.tenant_id).toBe(tenantId);
  });

  it("answers a tenant id that is not a UUID with 400 and writes nothing", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      "/api/v1/tenants/not-a-uuid/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("tenantId in the path must be a UUID");
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("reuses the tenant's Stripe customer of that mode", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    await givenTenantCustomer(app.id, tenantId, true);
    const res = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      validBody({ state: newState() }),
      headers,
    );
    expect(res.status).toBe(200);
    const form = stripe.creates()[0]?.form ?? {};
    expect(form.customer).toBe(customer);
    expect(form.customer_creation).toBeUndefined();
  });

  it("refuses a setup checkout for a tenant without a Stripe customer with 409", async () => {
    const { app, headers } = await givenWriter();
    const res = await postJson(
      `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`,
      validBody({ state: newState(), mode: "setup" }),
      headers,
    );
    expect(res.status).toBe(409);
    expect(res.body.error).toBe(
      "A setup checkout needs the tenant's Stripe customer from an earlier completed checkout in test mode, and this tenant has none yet",
    );
    expect(stripe.requests).toHaveLength(0);
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("refuses a setup checkout without a tenant with 409", async () => {
    const { headers } = await givenWriter();
    const res = await postJson(CREATE, validBody({ state: newState(), mode: "setup" }), headers);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/this request names no tenant$/);
  });

  it("creates a setup checkout for a tenant with a customer, without line items or shipping", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    const res = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      validBody({ state: newState(), mode: "setup", paymentMethodType: "sepa" }),
      headers,
    );
    expect(res.status).toBe(200);
    const form = stripe.creates()[0]?.form ?? {};
    expect(form).toMatchObject({
      mode: "setup",
      customer,
      "allowed_payment_method_types[0]": "sepa_debit",
      "setup_intent_data[metadata][tenant_id]": tenantId,
    });
    expect(
      Object.keys(form).filter(
        (k) => k.startsWith("line_items") || k.startsWith("shipping") || k.startsWith("invoice"),
      ),
    ).toEqual([]);
    // Validated and recorded, though not sent.
    expect((await rowsOfApp(app.id))[0]).toMatchObject({
      mode: "setup",
      price: "price_eur_once",
      allowed_country: "DE",
    });
  });
});
