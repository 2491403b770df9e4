import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { outboundEventSchema } from "../../src/schemas/outbound-views.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { deliverAll, paidSubscription, runCron } from "./helpers/billing.ts";
import { postJson, validBody } from "./helpers/http.ts";
import { eventsOfApp } from "./helpers/outbound.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver, sessionEvent } from "./helpers/webhooks.ts";

/**
 * Issue 15, item 2: every state change that SPEC.md lists writes the app's event, once, with the
 * object as the change left it; a repeated, late or stale Stripe event writes none.
 */

async function createCheckout(headers: Record<string, string>, body: Record<string, unknown> = {}) {
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState(), ...body }),
    headers,
  );
  if (res.status !== 200) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body.data as { checkout: { id: string; hash: string } }).checkout;
}

const types = async (appId: string) => (await eventsOfApp(appId)).map((e) => e.type);

/** The events as the app receives them (the very body POSTed), checked against the schema. */
async function bodies(appId: string) {
  const { eventView } = await import("../../src/outbound/views.ts");
  return (await eventsOfApp(appId)).map((row) => outboundEventSchema.parse(eventView(row)));
}

describe("checkout events", () => {
  it("writes checkout.completed and checkout.payment_succeeded for a card payment, once", async () => {
    const { app, headers } = await givenWriter();
    const checkout = await createCheckout(headers);
    const events = stripe.completeSession(checkout.id);
    await deliverAll(events);
    await deliverAll(events); // Stripe's redelivery: nothing new
    const sent = await bodies(app.id);
    expect(sent.map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
      "invoice.paid",
    ]);
    const [completed] = sent;
    expect(completed).toMatchObject({
      appId: app.id,
      tenantId: null,
      livemode: false,
      object: {
        kind: "checkout",
        id: checkout.id,
        hash: checkout.hash,
        status: "complete",
        paymentStatus: "paid",
        mode: "payment",
      },
    });
    expect(JSON.stringify(sent)).not.toMatch(/state|sk_test|whsec/);
    const sequences = sent.map((e) => e.object.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
  });

  it("writes checkout.completed, then payment_succeeded for SEPA's delayed payment, and payment_failed for a failed one", async () => {
    const { app, headers } = await givenWriter();
    const sepa = await createCheckout(headers, { paymentMethodType: "sepa" });
    const events = stripe.completeSession(sepa.id);
    const completed = events.filter((e) => e.type === "checkout.session.completed");
    await deliverAll(completed);
    expect(await types(app.id)).toEqual(["checkout.completed"]);
    const first = (await bodies(app.id))[0];
    expect(first?.object).toMatchObject({ paymentStatus: "unpaid" });
    await deliverAll(events.filter((e) => e.type === "checkout.session.async_payment_succeeded"));
    expect(await types(app.id)).toEqual(["checkout.completed", "checkout.payment_succeeded"]);

    const failing = await createCheckout(headers, { paymentMethodType: "sepa" });
    const session = stripe.sessions.get(failing.id);
    if (!session) throw new Error("no session");
    const failed = sessionEvent("checkout.session.async_payment_failed", {
      ...stripe.publicSession(session),
      id: failing.id,
      status: "complete",
      payment_status: "unpaid",
    });
    await deliver(failed);
    expect((await types(app.id)).slice(2)).toEqual([
      "checkout.completed",
      "checkout.payment_failed",
    ]);
    // A late "completed" (unpaid) after the failure changes nothing, and writes nothing.
    await deliver(
      sessionEvent("checkout.session.completed", {
        ...stripe.publicSession(session),
        id: failing.id,
        status: "complete",
        payment_status: "unpaid",
      }),
    );
    expect(await types(app.id)).toHaveLength(4);
  });

  it("writes checkout.expired when Stripe expires a session, and never after its completion", async () => {
    const { app, headers } = await givenWriter();
    const open = await createCheckout(headers);
    const expired = stripe.expireSession(open.id);
    await deliver(expired);
    await deliver({ ...expired, id: `${expired.id}_again` });
    expect(await types(app.id)).toEqual(["checkout.expired"]);

    const paid = await createCheckout(headers);
    const session = stripe.sessions.get(paid.id);
    await deliverAll(stripe.completeSession(paid.id));
    if (!session) throw new Error("no session");
    await deliver(
      sessionEvent("checkout.session.expired", {
        ...stripe.publicSession(session),
        id: paid.id,
        status: "expired",
      }),
    );
    expect((await types(app.id)).filter((t) => t === "checkout.expired")).toHaveLength(1);
  });

  it("writes checkout.expired for each checkout the cron expires, in the cron's batch", async () => {
    const { app, headers } = await givenWriter();
    const a = await createCheckout(headers);
    const b = await createCheckout(headers);
    // Stripe expired both; their events are lost (the cron reads each session first).
    stripe.expireSession(a.id);
    stripe.expireSession(b.id);
    const row = await env.DB.prepare(
      "SELECT MAX(expires_at) AS at FROM checkout_sessions WHERE app_id = ?1",
    )
      .bind(app.id)
      .first<{ at: number }>();
    await runCron((row?.at ?? 0) + 60);
    const sent = await bodies(app.id);
    expect(sent.map((e) => e.type)).toEqual(["checkout.expired", "checkout.expired"]);
    expect(sent.map((e) => e.object.kind === "checkout" && e.object.id).sort()).toEqual(
      [a.id, b.id].sort(),
    );
    expect(sent.every((e) => e.object.kind === "checkout" && e.object.status === "expired")).toBe(
      true,
    );
    await runCron((row?.at ?? 0) + 120);
    expect(await types(app.id)).toHaveLength(2);
  });
});

describe("billing events", () => {
  it("writes subscription.created, invoice.paid and the checkout's events for a paid subscription", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const { subscriptionId, events } = await paidSubscription(headers, tenantId);
    await deliverAll(events); // again: nothing new
    const sent = await bodies(app.id);
    expect(sent.map((e) => e.type).sort()).toEqual(
      [
        "checkout.completed",
        "checkout.payment_succeeded",
        "invoice.paid",
        "subscription.created",
      ].sort(),
    );
    expect(sent.every((e) => e.tenantId === tenantId)).toBe(true);
    const created = sent.find((e) => e.type === "subscription.created");
    expect(created?.object).toMatchObject({
      kind: "subscription",
      id: subscriptionId,
      status: "active",
      cancelAtPeriodEnd: false,
    });
  });

  it("writes invoice.payment_failed and subscription.updated for a failed renewal, then invoice.paid when a new card pays it", async () => {
    const { app, headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const before = (await types(app.id)).length;
    await deliverAll(stripe.billing.renew(subscriptionId, "failed"));
    const renewal = (await bodies(app.id)).slice(before);
    expect(renewal.map((e) => e.type).sort()).toEqual([
      "invoice.payment_failed",
      "subscription.updated",
    ]);
    expect(renewal.find((e) => e.type === "subscription.updated")?.object).toMatchObject({
      status: "past_due",
    });
    expect(renewal.find((e) => e.type === "invoice.payment_failed")?.object).toMatchObject({
      status: "open",
      attemptCount: 1,
    });
    const after = (await types(app.id)).length;
    await deliverAll(stripe.billing.updateCard(subscriptionId));
    expect((await types(app.id)).slice(after).sort()).toEqual([
      "invoice.paid",
      "subscription.updated",
    ]);
  });

  it("writes no invoice.payment_failed for a SEPA renewal still settling, and one when it fails, in either order", async () => {
    for (const reversed of [false, true]) {
      const { app, headers } = await givenWriter();
      const { subscriptionId } = await paidSubscription(headers, undefined, {
        paymentMethodType: "sepa",
      });
      const before = (await types(app.id)).length;
      await deliverAll(stripe.billing.renew(subscriptionId, "processing"));
      expect((await types(app.id)).slice(before)).toEqual(["subscription.updated"]);
      const settled = stripe.billing.settle(subscriptionId, "failed");
      const failing = (await types(app.id)).length;
      await deliverAll(reversed ? [...settled].reverse() : settled);
      expect((await types(app.id)).slice(failing).sort()).toEqual([
        "invoice.payment_failed",
        "subscription.updated",
      ]);
    }
  });

  it("writes subscription.canceled once, and nothing for a stale updated after it", async () => {
    const { app, headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const stale = stripe.billing.changeQuantity(subscriptionId, 3);
    const before = (await types(app.id)).length;
    await deliverAll(stripe.billing.cancel(subscriptionId));
    await deliverAll(stale); // re-read: canceled, as before
    expect((await types(app.id)).slice(before)).toEqual(["subscription.canceled"]);
  });

  it("writes payment.refunded for each refund that grows the refunded amount", async () => {
    const { app, headers } = await givenWriter();
    const checkout = await createCheckout(headers);
    await deliverAll(stripe.completeSession(checkout.id));
    const session = stripe.sessions.get(checkout.id);
    const charge = stripe.billing.chargeOf(session?.payment_intent ?? "");
    if (!charge) throw new Error("no charge");
    const partial = stripe.billing.refund(charge.id, 1000);
    await deliverAll(partial);
    await deliverAll(partial.map((e) => ({ ...e, id: `${e.id}_late` }))); // same amount again
    await deliverAll(stripe.billing.refund(charge.id));
    const refunds = (await bodies(app.id)).filter((e) => e.type === "payment.refunded");
    expect(refunds.map((e) => e.object)).toMatchObject([
      { kind: "checkout", paymentStatus: "partially_refunded", refund: { amount: 1000 } },
      { kind: "checkout", paymentStatus: "refunded", refund: { amount: charge.amount } },
    ]);
  });
});
