import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/** Issue 12, item 5: a tenant whose remembered Stripe customer is gone can check out again. */

async function rememberedCustomer(appId: string, tenantId: string): Promise<string | null> {
  const row = await env.DB.prepare(
    "SELECT stripe_customer_id FROM tenant_customers WHERE app_id = ?1 AND tenant_id = ?2",
  )
    .bind(appId, tenantId)
    .first<{ stripe_customer_id: string }>();
  return row?.stripe_customer_id ?? null;
}

/** A tenant that paid once, so its customer is remembered, and whose customer is then deleted. */
async function tenantWithDeletedCustomer() {
  const writer = await givenWriter();
  const tenantId = crypto.randomUUID();
  const path = `/api/v1/tenants/${tenantId}/checkout-sessions`;
  const paid = await postJson(path, validBody({ state: newState() }), writer.headers);
  const { id } = (paid.body.data as { checkout: { id: string } }).checkout;
  for (const event of stripe.completeSession(id)) await deliver(event);
  const customer = await rememberedCustomer(writer.app.id, tenantId);
  if (!customer) throw new Error("the tenant's customer was not remembered");
  stripe.deleteCustomer(customer);
  stripe.requests.length = 0;
  return { ...writer, tenantId, path, customer };
}

describe("a tenant whose remembered Stripe customer is gone", () => {
  it("checks out again: the customer is forgotten and the checkout made once more without it", async () => {
    const { app, headers, tenantId, path, customer } = await tenantWithDeletedCustomer();
    const res = await postJson(path, validBody({ state: newState() }), headers);
    expect(res.status).toBe(200);

    const [withCustomer, without] = stripe.creates();
    expect(withCustomer?.form.customer).toBe(customer);
    expect(without?.form.customer).toBeUndefined();
    expect(without?.form.customer_creation).toBe("always");
    expect(without?.headers["idempotency-key"]).not.toBe(withCustomer?.headers["idempotency-key"]);
    expect(await rememberedCustomer(app.id, tenantId)).toBeNull();
    const row = await env.DB.prepare(
      "SELECT status, stripe_customer_id FROM checkout_sessions WHERE stripe_session_id = ?1",
    )
      .bind((res.body.data as { checkout: { id: string } }).checkout.id)
      .first();
    expect(row).toEqual({ status: "open", stripe_customer_id: null });

    // And the next one goes straight to a new customer: one Stripe call.
    stripe.requests.length = 0;
    expect((await postJson(path, validBody({ state: newState() }), headers)).status).toBe(200);
    expect(stripe.creates()).toHaveLength(1);
    expect(stripe.creates()[0]?.form.customer).toBeUndefined();
  });

  it("checks out with reverse charge: the session meets the gone customer, and it goes on without", async () => {
    const { app, headers, tenantId, path, customer } = await tenantWithDeletedCustomer();
    const res = await postJson(
      path,
      validBody({ state: newState(), isReverseCharge: true, taxRate: "txr_reverse_charge_0" }),
      headers,
    );
    expect(res.status).toBe(200);
    // Nothing is asked of the customer before the checkout is paid (tax-exempt.test.ts).
    expect(stripe.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /v1/checkout/sessions",
      "POST /v1/checkout/sessions",
    ]);
    expect(stripe.creates()[0]?.form.customer).toBe(customer);
    expect(stripe.creates()[1]?.form.customer).toBeUndefined();
    expect(await rememberedCustomer(app.id, tenantId)).toBeNull();
  });

  it("answers a setup checkout with 409 that says why, and forgets the customer", async () => {
    const { app, headers, tenantId, path } = await tenantWithDeletedCustomer();
    const body = validBody({ state: newState(), mode: "setup" });
    const res = await postJson(path, body, headers);
    expect(res.status).toBe(409);
    expect(res.body.error).toBe(
      "A setup checkout needs the tenant's Stripe customer, and Stripe no longer has the one remembered in test mode (it was forgotten); complete a payment or subscription checkout first",
    );
    expect(stripe.creates()).toHaveLength(1);
    expect(await rememberedCustomer(app.id, tenantId)).toBeNull();
    // The state is free, and the same request now meets the plain "no customer" rule.
    const again = await postJson(path, body, headers);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/^A setup checkout needs the tenant's Stripe customer from/);
  });
});
