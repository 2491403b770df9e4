import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/**
 * Issue 12, item 1: a paid checkout is always recorded. A reverse-charge completion marks the
 * customer that Checkout created tax-exempt `reverse` at Stripe; that update is a follow-up of
 * the recorded completion, never a condition of it.
 */

interface FollowUpRow {
  status: string;
  payment_status: string | null;
  tax_exempt_status: string | null;
  tax_exempt_error: string | null;
  tax_exempt_attempts: number;
  tax_exempt_next_at: number | null;
}

async function followUpRow(sessionId: string): Promise<FollowUpRow> {
  const row = await env.DB.prepare(
    `SELECT status, payment_status, tax_exempt_status, tax_exempt_error, tax_exempt_attempts, tax_exempt_next_at
     FROM checkout_sessions WHERE stripe_session_id = ?1`,
  )
    .bind(sessionId)
    .first<FollowUpRow>();
  if (!row) throw new Error(`no row for ${sessionId}`);
  return row;
}

/** The follow-up runs after the answer (waitUntil): wait, bounded, until it has recorded a try. */
async function afterFollowUpTried(sessionId: string, tries = 1): Promise<FollowUpRow> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const row = await followUpRow(sessionId);
    if (row.tax_exempt_attempts >= tries || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function runCron(atSeconds: number) {
  await worker.scheduled(
    createScheduledController({ scheduledTime: atSeconds * 1000, cron: "*/10 * * * *" }),
    env,
  );
}

async function eventRecorded(id: string) {
  return (
    (await env.DB.prepare("SELECT 1 FROM stripe_events WHERE id = ?1").bind(id).first()) !== null
  );
}

/** A reverse-charge checkout paid at the double, whose customer Checkout created. */
async function paidReverseChargeCheckout() {
  const { app, headers } = await givenWriter();
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState(), isReverseCharge: true, taxRate: "txr_reverse_charge_0" }),
    headers,
  );
  expect(res.status).toBe(200);
  const { id } = (res.body.data as { checkout: { id: string } }).checkout;
  const [completed] = stripe.completeSession(id);
  if (!completed) throw new Error("the double sent no event");
  const customer = stripe.sessions.get(id)?.customer;
  if (!customer) throw new Error("the double created no customer");
  return { app, sessionId: id, completed, customer };
}

describe("a paid checkout is always recorded", () => {
  it("records a reverse-charge completion when Stripe refuses the customer update, and shows the refusal on the record", async () => {
    const { app, sessionId, completed, customer } = await paidReverseChargeCheckout();
    // The customer is gone at Stripe (deleted by its owner): the update is refused for good.
    stripe.deleteCustomer(customer);

    const res = await deliver(completed);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: { outcome: "applied" } });
    expect(await eventRecorded(completed.id)).toBe(true);

    const row = await afterFollowUpTried(sessionId);
    expect(row).toMatchObject({
      status: "complete",
      payment_status: "paid",
      tax_exempt_status: "failed",
      tax_exempt_attempts: 1,
      tax_exempt_error: `Stripe refused the update of the tenant's Stripe customer (tax_exempt=reverse): No such customer: '${customer}'`,
    });
    const update = stripe.requests.find((r) => r.path === `/v1/customers/${customer}`);
    expect(update?.form).toEqual({ tax_exempt: "reverse" });

    // The record says so, and the payment stays recorded: redelivery is a duplicate, and the
    // cron, even past the checkout's expiry, neither expires it nor tries a refused update again.
    const reader = await givenKey(app.id, "read");
    const read = await call(`/api/v1/checkout-sessions/${sessionId}`, { headers: reader.headers });
    expect(read.body.data).toMatchObject({
      checkout: {
        status: "complete",
        paymentStatus: "paid",
        customerTaxExempt: { status: "failed", error: row.tax_exempt_error },
      },
    });
    expect((await deliver(completed)).body).toMatchObject({ data: { outcome: "duplicate" } });
    stripe.requests.length = 0;
    await runCron(Math.floor(Date.now() / 1000) + 2 * 86_400);
    expect(await followUpRow(sessionId)).toMatchObject({
      status: "complete",
      tax_exempt_status: "failed",
    });
    expect(stripe.requests).toEqual([]);
  });

  it("acknowledges the completion during a Stripe outage and applies the update from the cron later", async () => {
    const { sessionId, completed, customer } = await paidReverseChargeCheckout();
    // Both SDK attempts of the follow-up meet the outage.
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });

    const res = await deliver(completed);
    expect(res.status).toBe(200);
    const pending = await afterFollowUpTried(sessionId);
    expect(pending).toMatchObject({
      status: "complete",
      payment_status: "paid",
      tax_exempt_status: "pending",
      tax_exempt_attempts: 1,
      tax_exempt_error: "Stripe is unavailable; it is tried again later",
    });
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("none");

    // Not before its time; then the cron applies it.
    const now = Math.floor(Date.now() / 1000);
    await runCron(now);
    expect((await followUpRow(sessionId)).tax_exempt_attempts).toBe(1);
    await runCron((pending.tax_exempt_next_at ?? now) + 1);
    expect(await followUpRow(sessionId)).toMatchObject({
      tax_exempt_status: "applied",
      tax_exempt_error: null,
      tax_exempt_attempts: 2,
    });
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("reverse");
  });

  it("marks the customer once, after the completion is recorded, under a key of that customer", async () => {
    const { sessionId, completed, customer } = await paidReverseChargeCheckout();
    const res = await deliver(completed);
    expect(res.status).toBe(200);
    expect((await afterFollowUpTried(sessionId)).tax_exempt_status).toBe("applied");
    expect(stripe.customers.get(customer)?.tax_exempt).toBe("reverse");
    // One update, under a key of that customer: a second try would reach Stripe's saved result.
    const updates = stripe.requests.filter((r) => r.path === `/v1/customers/${customer}`);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.headers["idempotency-key"]).toMatch(/^checkout-edge-customer-[0-9a-f]{64}$/);
  });
});
