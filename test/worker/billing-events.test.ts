import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { billingOf, deliverAll, paidSubscription, subscriptionRow } from "./helpers/billing.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/**
 * Issue 14, item 2: every billing event kind is handled by re-fetching its object from Stripe
 * and writing what Stripe says now (test/worker/billing-order.test.ts: in any order).
 */

async function reader(appId: string) {
  return (await givenKey(appId, "read")).headers;
}

/** A one-time checkout paid at the double: its charge, and the events not yet delivered. */
async function oneTimeCheckout() {
  const { app, headers } = await givenWriter();
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState() }),
    headers,
  );
  const { id } = (res.body.data as { checkout: { id: string } }).checkout;
  const completion = stripe.completeSession(id);
  const charge = stripe.billing.chargeOf(stripe.sessions.get(id)?.payment_intent ?? "");
  if (!charge) throw new Error("no charge at the double");
  return { app, id, charge, completion };
}

describe("billing state from Stripe's events", () => {
  it("records a paid subscription checkout: the subscription, its paid first invoice, the customer", async () => {
    const { app, headers } = await givenWriter();
    const { tenantId, subscriptionId, events } = await paidSubscription(headers);
    expect(events.map((e) => e.type)).toEqual([
      "customer.subscription.created",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "checkout.session.completed",
    ]);
    const sub = stripe.billing.subscriptions.get(subscriptionId);
    const { status, billing } = await billingOf(await reader(app.id), tenantId);
    expect(status).toBe(200);
    expect(billing).toMatchObject({
      tenantId,
      livemode: false,
      customerId: sub?.customer,
      paidUntil: new Date((sub?.current_period_end ?? 0) * 1000).toISOString(),
      paymentFailed: false,
      subscriptions: [
        { id: subscriptionId, status: "active", quantity: 1, cancelAtPeriodEnd: false },
      ],
      invoices: [{ id: sub?.latest_invoice, status: "paid", attemptCount: 1, amountPaid: 1900 }],
    });
    // Every field SPEC lists, as Stripe's objects have them.
    const at = (seconds: number | undefined) => new Date((seconds ?? 0) * 1000).toISOString();
    const invoice = stripe.billing.invoices.get(sub?.latest_invoice ?? "");
    expect(billing?.subscriptions[0]).toEqual({
      id: subscriptionId,
      status: "active",
      price: "price_eur_monthly",
      quantity: 1,
      currentPeriodStart: at(sub?.current_period_start),
      currentPeriodEnd: at(sub?.current_period_end),
      cancelAtPeriodEnd: false,
      cancelAt: null,
      billingMode: "flexible",
      canceledAt: null,
      endedAt: null,
      trialEnd: null,
      duplicateOf: null,
      syncedAt: expect.any(String),
    });
    expect(billing?.invoices[0]).toEqual({
      id: sub?.latest_invoice,
      status: "paid",
      subscriptionId,
      currency: "eur",
      amountDue: 1900,
      amountPaid: 1900,
      amountRemaining: 0,
      attemptCount: 1,
      hostedInvoiceUrl: `https://checkout.stripe.test/i/${sub?.latest_invoice}`,
      invoicePdf: `https://checkout.stripe.test/i/${sub?.latest_invoice}/pdf`,
      periodStart: at(invoice?.period_start),
      periodEnd: at(invoice?.period_end),
      paidAt: at(invoice?.paid_at ?? undefined),
      createdAt: at(invoice?.created),
    });
    // Each object was read from Stripe, not taken from the event.
    const reads = stripe.requests.filter((r) => r.method === "GET").map((r) => r.path);
    expect(reads).toContain(`/v1/subscriptions/${subscriptionId}`);
    expect(reads).toContain(`/v1/invoices/${sub?.latest_invoice}`);
  });

  it.each([
    [
      "customer.subscription.updated: a new quantity",
      "quantity",
      { status: "active", quantity: 4 },
    ],
    [
      "customer.subscription.updated: cancel at period end",
      "cancelAtEnd",
      { status: "active", cancel_at_period_end: 1 },
    ],
    ["customer.subscription.deleted", "cancel", { status: "canceled" }],
    ["customer.subscription.paused", "pause", { status: "paused" }],
    ["customer.subscription.resumed", "resume", { status: "active" }],
  ] as const)("takes %s", async (_name, move, expected) => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const world = stripe.billing;
    const events =
      move === "quantity"
        ? world.changeQuantity(subscriptionId, 4)
        : move === "cancelAtEnd"
          ? world.cancel(subscriptionId, true)
          : move === "cancel"
            ? world.cancel(subscriptionId)
            : move === "pause"
              ? world.pause(subscriptionId)
              : [...world.pause(subscriptionId), ...world.resume(subscriptionId)];
    await deliverAll(events);
    expect(await subscriptionRow(subscriptionId)).toMatchObject(expected);
  });

  it("takes a renewal that is paid: the period moves on, a second invoice is paid", async () => {
    const { app, headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    const events = stripe.billing.renew(subscriptionId, "paid");
    expect(events.map((e) => e.type)).toEqual([
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
    ]);
    await deliverAll(events);
    const sub = stripe.billing.subscriptions.get(subscriptionId);
    const { billing } = await billingOf(await reader(app.id), tenantId);
    expect(billing?.paidUntil).toBe(new Date((sub?.current_period_end ?? 0) * 1000).toISOString());
    expect(billing?.paymentFailed).toBe(false);
    expect(billing?.invoices.map((i) => i.status)).toEqual(["paid", "paid"]);
  });

  it("takes a renewal that fails: past due, paymentFailed, no paidUntil; a new card pays it", async () => {
    const { app, headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    const failed = stripe.billing.renew(subscriptionId, "failed");
    expect(failed.map((e) => e.type)).toContain("invoice.payment_failed");
    await deliverAll(failed);
    const read = await reader(app.id);
    expect((await billingOf(read, tenantId)).billing).toMatchObject({
      paidUntil: null,
      paymentFailed: true,
      subscriptions: [{ status: "past_due" }],
      invoices: [{ status: "open", attemptCount: 1 }, { status: "paid" }],
    });
    await deliverAll(stripe.billing.updateCard(subscriptionId));
    expect((await billingOf(read, tenantId)).billing).toMatchObject({
      paymentFailed: false,
      subscriptions: [{ status: "active" }],
    });
  });

  it.each([
    ["invoice.voided", "void", false],
    ["invoice.marked_uncollectible", "uncollectible", true],
  ] as const)("takes %s", async (_type, status, failed) => {
    const { app, headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    await deliverAll(stripe.billing.renew(subscriptionId, "failed"));
    const invoiceId = stripe.billing.subscriptions.get(subscriptionId)?.latest_invoice ?? "";
    await deliverAll(
      status === "void"
        ? stripe.billing.voidInvoice(invoiceId)
        : stripe.billing.markUncollectible(invoiceId),
    );
    const { billing } = await billingOf(await reader(app.id), tenantId);
    expect(billing?.invoices[0]).toMatchObject({ id: invoiceId, status });
    // A void invoice asks for nothing: the one before it (paid) is the latest that counts.
    expect(billing?.paymentFailed).toBe(failed);
  });

  it("takes a SEPA renewal still settling for no failure: paymentFailed only once the debit fails", async () => {
    const { app, headers } = await givenWriter();
    const read = await reader(app.id);
    const { tenantId, subscriptionId } = await paidSubscription(headers, undefined, {
      paymentMethodType: "sepa",
    });
    // Stripe has attempted the debit (attempt 1) and keeps the invoice open for days meanwhile.
    await deliverAll(stripe.billing.renew(subscriptionId, "processing"));
    const settling = (await billingOf(read, tenantId)).billing;
    expect(settling).toMatchObject({
      paymentFailed: false,
      subscriptions: [{ status: "active" }],
      invoices: [{ status: "open", attemptCount: 1 }, { status: "paid" }],
    });
    expect(settling?.paidUntil).toBe(settling?.subscriptions[0]?.currentPeriodEnd);
    await deliverAll(stripe.billing.settle(subscriptionId, "failed"));
    expect((await billingOf(read, tenantId)).billing).toMatchObject({
      paymentFailed: true,
      paidUntil: null,
      subscriptions: [{ status: "past_due" }],
      invoices: [{ status: "open", attemptCount: 1 }, { status: "paid" }],
    });
  });

  it("has Stripe deliver a refund again that comes before the checkout's completion was recorded", async () => {
    const { app, id, charge, completion } = await oneTimeCheckout();
    // The completion's delivery failed at our end; meanwhile the merchant refunded part of it.
    const refunded = stripe.billing
      .refund(charge.id, 1000)
      .find((e) => e.type === "charge.refunded");
    if (!refunded) throw new Error("no charge.refunded");
    const early = await deliver(refunded);
    expect(early.status).toBe(409);
    expect(early.body.error).toBe(
      "This refund's checkout (named in its payment's metadata) has no recorded completion yet; Stripe delivers the event again",
    );
    const read = await reader(app.id);
    const details = async () =>
      (
        (await call(`/api/v1/checkout-sessions/${id}`, { headers: read })).body.data as {
          checkout: { status: string; paymentStatus: string | null; refund: unknown };
        }
      ).checkout;
    expect(await details()).toMatchObject({ status: "open", refund: null });
    await deliverAll(completion);
    // Stripe's next try finds the completed checkout.
    expect((await deliver(refunded)).status).toBe(200);
    expect(await details()).toMatchObject({
      status: "complete",
      paymentStatus: "partially_refunded",
      refund: { amount: 1000, currency: "eur" },
    });
  });

  it("takes charge.refunded: partial, then full, on the one-time checkout's record", async () => {
    const { app, id, charge, completion } = await oneTimeCheckout();
    await deliverAll(completion);
    const read = await reader(app.id);
    const details = async () =>
      (
        (await call(`/api/v1/checkout-sessions/${id}`, { headers: read })).body.data as {
          checkout: { paymentStatus: string; refund: unknown };
        }
      ).checkout;

    await deliverAll(stripe.billing.refund(charge.id, 1000));
    expect(await details()).toMatchObject({
      paymentStatus: "partially_refunded",
      refund: { amount: 1000, currency: "eur" },
    });
    await deliverAll(stripe.billing.refund(charge.id));
    expect(await details()).toMatchObject({
      paymentStatus: "refunded",
      refund: { amount: 4900, currency: "eur" },
    });
    // A late completion event does not make a refunded payment paid again.
    const completed = stripe.event(
      "checkout.session.completed",
      { livemode: false, account: null },
      stripe.publicSession(stripe.sessions.get(id) ?? ({} as never)),
    );
    await deliver(completed);
    expect((await details()).paymentStatus).toBe("refunded");
  });

  it("processes each event id once: a redelivery is a duplicate and reads nothing from Stripe", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const [updated] = stripe.billing.changeQuantity(subscriptionId, 2);
    expect((await deliver(updated)).body).toMatchObject({ data: { outcome: "applied" } });
    stripe.requests.length = 0;
    expect((await deliver(updated)).body).toMatchObject({ data: { outcome: "duplicate" } });
    expect(stripe.requests).toEqual([]);
  });

  it("leaves the state as it was and the event unrecorded while Stripe is down; the redelivery applies it", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const [deleted] = stripe.billing.cancel(subscriptionId);
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    const failed = await deliver(deleted);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatch(/^Stripe is unavailable/);
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ status: "active" });
    const seen = await env.DB.prepare("SELECT 1 FROM stripe_events WHERE id = ?1")
      .bind(deleted?.id)
      .first();
    expect(seen).toBeNull();
    expect((await deliver(deleted)).status).toBe(200);
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ status: "canceled" });
  });

  it("reads a connected account's objects with its Stripe-Account, and takes an account's event only for that account", async () => {
    const account = "acct_billing1";
    const { app, headers } = await givenWriter({ stripeAccountTest: account });
    const { tenantId, subscriptionId, events } = await paidSubscription(headers);
    expect(events.every((e) => e.account === account)).toBe(true);
    const reads = stripe.requests.filter((r) => r.method === "GET");
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.headers["stripe-account"] === account)).toBe(true);
    const { billing } = await billingOf(await reader(app.id), tenantId);
    expect(billing?.subscriptions.map((s) => s.id)).toEqual([subscriptionId]);
    // The same subscription's event claimed for the platform account: Stripe has no such object
    // there, so it is nothing of ours and changes nothing.
    const renewal = stripe.billing.renew(subscriptionId, "failed");
    const before = await subscriptionRow(subscriptionId);
    for (const event of renewal) {
      const { account: _account, ...rest } = event;
      const platform = { ...rest, id: `${event.id}_platform` };
      const outcome = ["invoice.created", "invoice.payment_succeeded"].includes(event.type)
        ? "ignored"
        : "unmatched";
      expect((await deliver(platform)).body).toMatchObject({ data: { outcome } });
    }
    expect(await subscriptionRow(subscriptionId)).toEqual(before);
    await deliverAll(renewal);
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ status: "past_due" });
  });

  it("ignores objects no checkout of ours created, and those naming another app's checkout", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers, crypto.randomUUID(), {
      deliverEvents: false,
    });
    const sub = stripe.billing.subscriptions.get(subscriptionId);
    if (!sub) throw new Error("no subscription");
    // Someone else's subscription on the same account: no metadata of ours.
    const foreign = { ...sub, id: "sub_foreign", metadata: {} };
    stripe.billing.subscriptions.set(foreign.id, foreign);
    // One that names our checkout's hash but another app.
    const forged = {
      ...sub,
      id: "sub_forged",
      metadata: { ...sub.metadata, app_id: crypto.randomUUID() },
    };
    stripe.billing.subscriptions.set(forged.id, forged);
    for (const [id, object] of [
      [foreign.id, stripe.billing.publicSubscription(foreign)],
      [forged.id, stripe.billing.publicSubscription(forged)],
    ] as const) {
      const event = stripe.event("customer.subscription.created", sub, object);
      expect((await deliver(event)).body).toMatchObject({ data: { outcome: "unmatched" } });
      expect(await subscriptionRow(id)).toBeNull();
    }
  });
});
