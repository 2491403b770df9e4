import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { outboundEventSchema } from "../../src/schemas/outbound-views.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import { billingOf, deliverAll, paidSubscription, subscriptionRow } from "./helpers/billing.ts";
import { eventsOfApp } from "./helpers/outbound.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/**
 * Issue 19, A3, B6 and B10: subscriptions as Stripe makes them now. The pinned API version makes
 * new subscriptions in flexible billing mode, where a cancellation at the period's end sets only
 * `cancel_at`; and Stripe may add statuses this code does not know.
 */

const iso = (seconds: number | null | undefined) =>
  seconds == null ? null : new Date(seconds * 1000).toISOString();

async function lastEventObject(appId: string) {
  const { eventView } = await import("../../src/outbound/views.ts");
  const rows = await eventsOfApp(appId);
  const last = rows.at(-1);
  return last ? outboundEventSchema.parse(eventView(last)) : undefined;
}

describe("a cancellation at the period's end, in either billing mode", () => {
  it.each(["flexible", "classic"] as const)(
    "shows cancelAt and cancelAtPeriodEnd in %s mode, in the billing state and the app's event",
    async (mode) => {
      stripe.billing.billingMode = mode;
      const { app, headers } = await givenWriter();
      const read = (await givenKey(app.id, "read")).headers;
      const { tenantId, subscriptionId } = await paidSubscription(headers);
      const sub = stripe.billing.subscriptions.get(subscriptionId);
      expect(sub?.billing_mode).toBe(mode);
      const events = stripe.billing.cancel(subscriptionId, true);
      // What Stripe says: flexible mode sets only cancel_at.
      expect(sub?.cancel_at).toBe(sub?.current_period_end);
      expect(sub?.cancel_at_period_end).toBe(mode === "classic");
      await deliverAll(events);

      const periodEnd = iso(sub?.current_period_end);
      const { billing } = await billingOf(read, tenantId);
      expect(billing?.paidUntil).toBe(periodEnd);
      expect(billing?.subscriptions[0]).toMatchObject({
        status: "active",
        billingMode: mode,
        cancelAt: periodEnd,
        cancelAtPeriodEnd: true,
      });
      const event = await lastEventObject(app.id);
      expect(event?.type).toBe("subscription.updated");
      expect(event?.object).toMatchObject({ cancelAt: periodEnd, cancelAtPeriodEnd: true });
    },
  );

  it("shows cancelAt null for a running subscription, and the date of a cancellation set for later", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    const { tenantId } = await paidSubscription(headers);
    const { billing } = await billingOf(read, tenantId);
    expect(billing?.subscriptions[0]).toMatchObject({
      billingMode: "flexible",
      cancelAt: null,
      cancelAtPeriodEnd: false,
    });
  });
});

describe("rows written before the billing mode was kept", () => {
  it("tell the app nothing when a sync merely learns the mode", async () => {
    const { app, headers } = await givenWriter();
    const { subscriptionId, events } = await paidSubscription(headers);
    // As a row written before migration 0011: no billing mode.
    await env.DB.prepare("UPDATE subscriptions SET billing_mode = NULL WHERE id = ?1")
      .bind(subscriptionId)
      .run();
    const before = (await eventsOfApp(app.id)).length;
    const created = events.find((e) => e.type === "customer.subscription.created");
    if (!created) throw new Error("no customer.subscription.created");
    expect((await deliver({ ...created, id: `${created.id}_again` })).status).toBe(200);
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ billing_mode: "flexible" });
    expect((await eventsOfApp(app.id)).length).toBe(before);
  });
});

describe("a status Stripe adds later", () => {
  it("is stored as Stripe says, counts as not paid, and fails no event of the subscription or its invoices", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    const { tenantId, subscriptionId, events } = await paidSubscription(headers);
    await deliverAll(stripe.billing.setStatus(subscriptionId, "awaiting_review"));
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ status: "awaiting_review" });
    // Its invoice's events read the subscription too: still taken.
    const paid = events.find((e) => e.type === "invoice.paid");
    if (!paid) throw new Error("no invoice.paid");
    expect((await deliver({ ...paid, id: `${paid.id}_again` })).status).toBe(200);
    const { billing } = await billingOf(read, tenantId);
    expect(billing).toMatchObject({
      paidUntil: null,
      subscriptions: [{ id: subscriptionId, status: "awaiting_review" }],
    });
    const event = await lastEventObject(app.id);
    expect(event).toMatchObject({
      type: "subscription.updated",
      object: { status: "awaiting_review" },
    });
  });
});
