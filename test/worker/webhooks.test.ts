import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import {
  deliver,
  sessionEvent,
  WEBHOOK_SECRET_LIVE,
  WEBHOOK_SECRET_TEST,
} from "./helpers/webhooks.ts";

interface Row {
  id: string;
  hash: string;
  status: string;
  payment_status: string | null;
  stripe_session_id: string | null;
  stripe_customer_id: string | null;
  stripe_payment_intent_id: string | null;
  stripe_subscription_id: string | null;
  stripe_setup_intent_id: string | null;
  completed_at: number | null;
  updated_at: number;
}

async function checkoutFor(
  headers: Record<string, string>,
  path = "/api/v1/checkout-sessions",
  body: Record<string, unknown> = {},
) {
  const res = await postJson(path, validBody({ state: newState(), ...body }), headers);
  expect(res.status).toBe(200);
  const checkout = (res.body.data as { checkout: { id: string; hash: string } }).checkout;
  const session = stripe.sessions.get(checkout.id);
  if (!session) throw new Error("no session at the double");
  return { ...checkout, session };
}

async function row(sessionId: string): Promise<Row> {
  const found = await env.DB.prepare("SELECT * FROM checkout_sessions WHERE stripe_session_id = ?1")
    .bind(sessionId)
    .first<Row>();
  if (!found) throw new Error(`no row for ${sessionId}`);
  return found;
}

async function tenantCustomers(appId: string) {
  const { results } = await env.DB.prepare(
    "SELECT tenant_id, livemode, stripe_customer_id FROM tenant_customers WHERE app_id = ?1",
  )
    .bind(appId)
    .all();
  return results;
}

/** As if Stripe's answer to the create had been lost: the row is pending, without a session. */
async function forgetSessionOf(hash: string) {
  await env.DB.prepare(
    "UPDATE checkout_sessions SET status = 'pending', stripe_session_id = NULL, stripe_url = NULL WHERE hash = ?1",
  )
    .bind(hash)
    .run();
}

async function eventRecorded(id: string) {
  return (
    (await env.DB.prepare("SELECT 1 FROM stripe_events WHERE id = ?1").bind(id).first()) !== null
  );
}

describe("POST /api/v1/webhooks/stripe", () => {
  it("completes a checkout, records the tenant's customer, and reuses it for the tenant's next checkout", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const tenantPath = `/api/v1/tenants/${tenantId}/checkout-sessions`;
    const checkout = await checkoutFor(headers, tenantPath);
    const customer = stripe.addCustomer(false);
    const event = sessionEvent(
      "checkout.session.completed",
      {
        id: checkout.id,
        status: "complete",
        payment_status: "paid",
        customer,
        payment_intent: "pi_123",
        metadata: { checkout_hash: checkout.hash },
      },
      { created: 1_800_000_000 },
    );

    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      message: "Event processed",
      data: { received: true, eventId: event.id, outcome: "applied" },
    });
    expect(await row(checkout.id)).toMatchObject({
      status: "complete",
      payment_status: "paid",
      stripe_customer_id: customer,
      stripe_payment_intent_id: "pi_123",
      completed_at: 1_800_000_000,
    });
    expect(await tenantCustomers(app.id)).toEqual([
      { tenant_id: tenantId, livemode: 0, stripe_customer_id: customer },
    ]);

    // The tenant's next checkout reuses the customer, and a setup checkout is now possible.
    stripe.requests.length = 0;
    await checkoutFor(headers, tenantPath);
    expect(stripe.creates()[0]?.form.customer).toBe(customer);
    const setup = await postJson(
      tenantPath,
      validBody({ state: newState(), mode: "setup" }),
      headers,
    );
    expect(setup.status).toBe(200);
    expect(stripe.creates()[1]?.form).toMatchObject({ mode: "setup", customer });
  });

  it("acknowledges a replayed event and changes nothing", async () => {
    const { app, headers } = await givenWriter();
    const checkout = await checkoutFor(
      headers,
      `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`,
    );
    const event = sessionEvent("checkout.session.completed", {
      id: checkout.id,
      payment_status: "paid",
      customer: "cus_first",
    });
    expect((await deliver(event)).status).toBe(200);
    const before = await row(checkout.id);
    const customersBefore = await tenantCustomers(app.id);

    const replay = await deliver(event);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({
      message: "Event already processed",
      data: { outcome: "duplicate" },
    });
    expect(await row(checkout.id)).toEqual(before);
    expect(await tenantCustomers(app.id)).toEqual(customersBefore);
  });

  it("never expires a completed checkout, whatever the order of the events", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers);
    await deliver(
      sessionEvent(
        "checkout.session.completed",
        { id: checkout.id, payment_status: "paid" },
        { created: 1_800_000_100 },
      ),
    );
    const late = await deliver(
      sessionEvent(
        "checkout.session.expired",
        { id: checkout.id, status: "expired" },
        { created: 1_800_000_000 },
      ),
    );
    expect(late.status).toBe(200);
    expect(await row(checkout.id)).toMatchObject({ status: "complete", payment_status: "paid" });
  });

  it("completes an expired checkout when Stripe says it completed", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers);
    await deliver(sessionEvent("checkout.session.expired", { id: checkout.id }));
    expect((await row(checkout.id)).status).toBe("expired");
    await deliver(
      sessionEvent("checkout.session.completed", { id: checkout.id, payment_status: "paid" }),
    );
    expect((await row(checkout.id)).status).toBe("complete");
  });

  it("keeps an async payment's success when the earlier 'completed, unpaid' event arrives after it", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers, undefined, { paymentMethodType: "sepa" });
    await deliver(
      sessionEvent("checkout.session.async_payment_succeeded", {
        id: checkout.id,
        payment_status: "paid",
      }),
    );
    await deliver(
      sessionEvent("checkout.session.completed", { id: checkout.id, payment_status: "unpaid" }),
    );
    expect(await row(checkout.id)).toMatchObject({ status: "complete", payment_status: "paid" });
  });

  it("records a failed async payment", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers, undefined, { paymentMethodType: "sepa" });
    await deliver(
      sessionEvent("checkout.session.completed", { id: checkout.id, payment_status: "unpaid" }),
    );
    expect((await row(checkout.id)).payment_status).toBe("unpaid");
    await deliver(
      sessionEvent("checkout.session.async_payment_failed", {
        id: checkout.id,
        payment_status: "unpaid",
      }),
    );
    expect(await row(checkout.id)).toMatchObject({ status: "complete", payment_status: "failed" });
  });

  it("records the subscription of a subscription checkout", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers, undefined, {
      mode: "subscription",
      price: "price_eur_monthly",
    });
    await deliver(
      sessionEvent("checkout.session.completed", {
        id: checkout.id,
        payment_status: "paid",
        subscription: "sub_42",
        customer: "cus_42",
      }),
    );
    expect(await row(checkout.id)).toMatchObject({
      stripe_subscription_id: "sub_42",
      stripe_customer_id: "cus_42",
    });
  });

  it("verifies live events with the live secret", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const checkout = await checkoutFor(headers, undefined, { test: false });
    const event = sessionEvent(
      "checkout.session.completed",
      { id: checkout.id, payment_status: "paid" },
      { livemode: true },
    );
    expect((await deliver(event, { secret: WEBHOOK_SECRET_LIVE })).status).toBe(200);
    expect((await row(checkout.id)).status).toBe("complete");
  });

  it("refuses a live event signed with the test secret, and a test event that does not match a live record", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const checkout = await checkoutFor(headers, undefined, { test: false });
    const liveEvent = sessionEvent(
      "checkout.session.completed",
      { id: checkout.id },
      { livemode: true },
    );
    const res = await deliver(liveEvent, { secret: WEBHOOK_SECRET_TEST });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: "Invalid signature",
    });
    const testEvent = sessionEvent(
      "checkout.session.completed",
      { id: checkout.id },
      { livemode: false },
    );
    expect((await deliver(testEvent)).body).toMatchObject({ data: { outcome: "unmatched" } });
    expect((await row(checkout.id)).status).toBe("open");
  });

  it("handles events of connected accounts, and only for that account's checkouts", async () => {
    const { headers } = await givenWriter({ stripeAccountTest: "acct_connected1" });
    const checkout = await checkoutFor(headers);
    const wrongAccount = await deliver(
      sessionEvent("checkout.session.completed", { id: checkout.id }, { account: "acct_other" }),
    );
    expect(wrongAccount.body).toMatchObject({ data: { outcome: "unmatched" } });
    const platform = await deliver(sessionEvent("checkout.session.completed", { id: checkout.id }));
    expect(platform.body).toMatchObject({ data: { outcome: "unmatched" } });
    expect((await row(checkout.id)).status).toBe("open");

    const right = await deliver(
      sessionEvent(
        "checkout.session.completed",
        { id: checkout.id, payment_status: "paid" },
        { account: "acct_connected1" },
      ),
    );
    expect(right.body).toMatchObject({ data: { outcome: "applied" } });
    expect((await row(checkout.id)).status).toBe("complete");
  });

  it("finds a checkout whose Stripe answer was never recorded, by the hash in the metadata", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers);
    await forgetSessionOf(checkout.hash);
    const [completed] = stripe.completeSession(checkout.id);
    expect((await deliver(completed)).body).toMatchObject({ data: { outcome: "applied" } });
    expect(await row(checkout.id)).toMatchObject({ status: "complete", hash: checkout.hash });
  });

  it.each([
    ["another app", { metadata: { app_id: crypto.randomUUID() } }],
    ["another mode", { mode: "subscription" }],
  ])(
    "does not complete a pending checkout by its hash from a session of %s",
    async (_what, change) => {
      const { headers } = await givenWriter();
      const checkout = await checkoutFor(headers);
      await forgetSessionOf(checkout.hash);
      const session = stripe.publicSession(checkout.session) as Record<string, unknown> & {
        metadata: Record<string, string>;
      };
      const forged = {
        ...session,
        id: "cs_test_someoneelse",
        ...change,
        metadata: { ...session.metadata, ...("metadata" in change ? change.metadata : {}) },
      };
      const res = await deliver(sessionEvent("checkout.session.completed", forged));
      expect(res.body).toMatchObject({ data: { outcome: "unmatched" } });
      const pending = await env.DB.prepare(
        "SELECT status, stripe_session_id FROM checkout_sessions WHERE hash = ?1",
      )
        .bind(checkout.hash)
        .first();
      expect(pending).toEqual({ status: "pending", stripe_session_id: null });
    },
  );

  it("touches only the checkout with the session id when the metadata names another pending checkout of the app", async () => {
    const { app, headers } = await givenWriter();
    const paid = await checkoutFor(headers);
    const other = await checkoutFor(headers);
    await forgetSessionOf(other.hash);
    const pendingBefore = await env.DB.prepare("SELECT * FROM checkout_sessions WHERE hash = ?1")
      .bind(other.hash)
      .first();
    const session = stripe.publicSession(paid.session) as Record<string, unknown> & {
      id: string;
      metadata: Record<string, string>;
    };
    // Signed (as the hostile-input run did): the session of one, the hash of the other.
    const event = sessionEvent("checkout.session.completed", {
      ...session,
      status: "complete",
      payment_status: "paid",
      metadata: { ...session.metadata, checkout_hash: other.hash },
    });
    for (const expected of ["applied", "duplicate"]) {
      const res = await deliver(event);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ data: { outcome: expected } });
    }
    const paidRow = await row(paid.id);
    expect(paidRow).toMatchObject({ status: "complete", payment_status: "paid", hash: paid.hash });
    const pendingAfter = await env.DB.prepare("SELECT * FROM checkout_sessions WHERE hash = ?1")
      .bind(other.hash)
      .first();
    expect(pendingAfter).toEqual(pendingBefore);
    expect(pendingAfter).toMatchObject({ status: "pending", stripe_session_id: null });
    const { results } = await env.DB.prepare(
      "SELECT type, object_id FROM webhook_events WHERE app_id = ?1 ORDER BY seq",
    )
      .bind(app.id)
      .all<{ type: string; object_id: string }>();
    expect(results).toEqual([
      { type: "checkout.completed", object_id: paidRow.id },
      { type: "checkout.payment_succeeded", object_id: paidRow.id },
    ]);
  });

  it("answers 200 to event types it does not handle, and records nothing", async () => {
    const event = {
      ...sessionEvent("customer.created", { id: "cus_1" }),
      data: { object: { id: "cus_1", object: "customer" } },
    };
    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: "Event type ignored", data: { outcome: "ignored" } });
    expect(await eventRecorded(event.id)).toBe(false);
  });
});

describe("webhook signatures", () => {
  async function openCheckout() {
    const { headers } = await givenWriter();
    return checkoutFor(headers);
  }

  it.each([
    ["unsigned", { signature: null }],
    ["signed with another secret", { secret: "whsec_someone_else" }],
    ["signed too long ago", { timestamp: Math.floor(Date.now() / 1000) - 600 }],
    ["garbage in the signature header", { signature: "t=1,v1=deadbeef" }],
  ] as const)(
    "refuses an event %s with 400 'Invalid signature' and changes nothing",
    async (_name, options) => {
      const checkout = await openCheckout();
      const event = sessionEvent("checkout.session.completed", {
        id: checkout.id,
        payment_status: "paid",
      });
      const res = await deliver(event, options);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        success: false,
        message: null,
        data: null,
        error: "Invalid signature",
      });
      expect((await row(checkout.id)).status).toBe("open");
      expect(await eventRecorded(event.id)).toBe(false);
    },
  );

  it("refuses a body changed after signing", async () => {
    const checkout = await openCheckout();
    const event = sessionEvent("checkout.session.completed", {
      id: checkout.id,
      payment_status: "unpaid",
    });
    const tampered = JSON.stringify({
      ...event,
      data: { object: { ...event.data.object, payment_status: "paid" } },
    });
    const res = await deliver(event, { body: tampered });
    expect(res.status).toBe(400);
    expect((await row(checkout.id)).status).toBe("open");
  });

  it("answers 405 to GET", async () => {
    const get = await call("/api/v1/webhooks/stripe");
    expect(get.status).toBe(405);
    expect(get.response.headers.get("Allow")).toBe("POST");
  });
});

describe("the Stripe double's own events (the local stand-in sends these)", () => {
  it("completes a card checkout with the events the hosted page's Pay button produces", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const checkout = await checkoutFor(headers, `/api/v1/tenants/${tenantId}/checkout-sessions`);
    const events = stripe.completeSession(checkout.id);
    // The session's event, then the invoice Checkout makes of it (invoice_creation).
    expect(events.map((e) => e.type)).toEqual([
      "checkout.session.completed",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
    for (const event of events) expect((await deliver(event)).status).toBe(200);
    const completed = await row(checkout.id);
    expect(completed).toMatchObject({
      status: "complete",
      payment_status: "paid",
      stripe_customer_id: stripe.sessions.get(checkout.id)?.customer,
    });
    expect(completed.stripe_payment_intent_id).toMatch(/^pi_/);
    expect(await tenantCustomers(app.id)).toHaveLength(1);
  });

  it("ends a SEPA checkout paid after the delayed-payment event", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers, undefined, { paymentMethodType: "sepa" });
    const events = stripe.completeSession(checkout.id);
    expect(events.map((e) => e.type)).toEqual([
      "checkout.session.completed",
      "checkout.session.async_payment_succeeded",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
    await deliver(events[0]);
    expect((await row(checkout.id)).payment_status).toBe("unpaid");
    await deliver(events[1]);
    expect((await row(checkout.id)).payment_status).toBe("paid");
  });

  it("expires a checkout with the double's expiry event", async () => {
    const { headers } = await givenWriter();
    const checkout = await checkoutFor(headers);
    await deliver(stripe.expireSession(checkout.id));
    expect((await row(checkout.id)).status).toBe("expired");
  });
});
