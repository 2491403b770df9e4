import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { deliverAll, givenTenantCustomer, paidSubscription, runCron } from "./helpers/billing.ts";
import { postJson, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

/**
 * Issue 19, B5: a customer's tax treatment at Stripe (`tax_exempt`, which its invoices print as
 * "Reverse charge") follows the tenant's paid checkouts, never an unpaid one; and a checkout
 * that contradicts the tenant's running subscription is refused (docs/decisions.md).
 */

const customerUpdates = (customer: string) =>
  stripe.requests.filter((r) => r.method === "POST" && r.path === `/v1/customers/${customer}`);

/** A checkout of the tenant, created through the API; its session id. */
async function createFor(
  headers: Record<string, string>,
  tenantId: string,
  body: Record<string, unknown>,
) {
  const res = await postJson(
    `/api/v1/tenants/${tenantId}/checkout-sessions`,
    validBody({ state: newState(), ...body }),
    headers,
  );
  return res;
}

/**
 * The follow-up runs after the answer (waitUntil): wait, bounded, until it settled, or until it
 * was tried `tries` times.
 */
async function followUpSettled(sessionId: string, tries?: number) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const row = await env.DB.prepare(
      "SELECT tax_exempt_status, tax_exempt_attempts FROM checkout_sessions WHERE stripe_session_id = ?1",
    )
      .bind(sessionId)
      .first<{ tax_exempt_status: string | null; tax_exempt_attempts: number }>();
    const done =
      tries === undefined
        ? row?.tax_exempt_status !== "pending"
        : (row?.tax_exempt_attempts ?? 0) >= tries;
    if (done || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A one-time checkout of the tenant, paid at the double and its events delivered. */
async function paidOnce(headers: Record<string, string>, tenantId: string, reverse: boolean) {
  const res = await createFor(headers, tenantId, {
    isReverseCharge: reverse,
    taxRate: reverse ? "txr_reverse_charge_0" : "txr_vat_de_19",
  });
  expect(res.status).toBe(200);
  const { id } = (res.body.data as { checkout: { id: string } }).checkout;
  await deliverAll(stripe.completeSession(id));
  return { id, settled: await followUpSettled(id) };
}

describe("the customer's tax treatment follows the tenant's paid checkouts", () => {
  it("changes nothing at Stripe for a reverse-charge checkout that is never paid", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    const res = await createFor(headers, tenantId, { isReverseCharge: true });
    expect(res.status).toBe(200);
    expect(customerUpdates(customer)).toEqual([]);
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("none");
    // Checkout still collects the VAT id of a known customer (Stripe needs customer_update).
    expect(stripe.creates()[0]?.form).toMatchObject({
      customer,
      "tax_id_collection[enabled]": "true",
      "customer_update[name]": "auto",
      "customer_update[address]": "auto",
    });
  });

  it("marks a known customer 'reverse' once its reverse-charge checkout is paid, under a key of that checkout", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    const first = await paidOnce(headers, tenantId, true);
    expect(first.settled?.tax_exempt_status).toBe("applied");
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("reverse");
    const second = await paidOnce(headers, tenantId, true);
    expect(second.settled?.tax_exempt_status).toBe("applied");
    const updates = customerUpdates(customer);
    expect(updates.map((u) => u.form)).toEqual([
      { tax_exempt: "reverse" },
      { tax_exempt: "reverse" },
    ]);
    // One key per checkout: a failure Stripe saved for one never blocks the tenant's next one.
    const [a, b] = updates.map((u) => u.headers["idempotency-key"]);
    expect(a).toMatch(/^checkout-edge-customer-[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
  });

  it("tries again under a new key after a 5xx Stripe saved under the last one", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    const res = await createFor(headers, tenantId, {
      isReverseCharge: true,
      taxRate: "txr_reverse_charge_0",
    });
    const { id } = (res.body.data as { checkout: { id: string } }).checkout;
    const events = stripe.completeSession(id);
    const completion = events.filter((e) => e.type === "checkout.session.completed");
    await deliverAll(events.filter((e) => e.type !== "checkout.session.completed"));
    // The follow-up's update began executing at Stripe and failed: its 500 is saved.
    stripe.fail({ kind: "saved" });
    await deliverAll(completion);
    const tried = await followUpSettled(id, 1);
    expect(tried?.tax_exempt_status).toBe("pending");
    // The cron's next try (a minute later) is answered, not met with the saved 500.
    await runCron(Math.floor(Date.now() / 1000) + 120);
    expect((await followUpSettled(id))?.tax_exempt_status).toBe("applied");
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("reverse");
    const keys = customerUpdates(customer).map((u) => u.headers["idempotency-key"]);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
  });

  it("sets the customer back to 'none' when the tenant's next paid checkout is not reverse charge", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    await paidOnce(headers, tenantId, true);
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("reverse");
    const later = await paidOnce(headers, tenantId, false);
    expect(later.settled?.tax_exempt_status).toBe("applied");
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("none");
    expect(customerUpdates(customer).at(-1)?.form).toEqual({ tax_exempt: "none" });
  });

  it("leaves a customer that was never reverse alone after a paid checkout without reverse charge", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const customer = await givenTenantCustomer(app.id, tenantId, false);
    const paid = await paidOnce(headers, tenantId, false);
    expect(paid.settled?.tax_exempt_status).toBeNull();
    expect(customerUpdates(customer)).toEqual([]);
  });

  it("refuses a checkout whose reverse charge contradicts the tenant's running subscription with 409", async () => {
    const { app, headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    const before = stripe.creates().length;
    const res = await createFor(headers, tenantId, {
      isReverseCharge: true,
      taxRate: "txr_reverse_charge_0",
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe(
      `This tenant's running subscription ${subscriptionId} of this app in test mode is charged without reverse charge; a checkout with reverse charge would change the tax treatment of its invoices. Cancel the subscription first, or check out with the same isReverseCharge`,
    );
    expect(stripe.creates()).toHaveLength(before);
    const { results } = await env.DB.prepare(
      "SELECT id FROM checkout_sessions WHERE app_id = ?1 AND reverse_charge = 1",
    )
      .bind(app.id)
      .all();
    expect(results).toEqual([]);
  });
});
