import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DoubleEvent } from "../../stripe-double/double.ts";
import { givenKey, givenWriter } from "./helpers/apps.ts";
import {
  billingOf,
  deliverAll,
  paidSubscription,
  runCron,
  subscriptionRow,
} from "./helpers/billing.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/**
 * Issue 14, items 2 and 3: the billing state ends as Stripe's objects are, whatever order, delay
 * or repetition the events come in, and a missed event heals through the reconciliation.
 */

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** What an app sees of a tenant: everything but the ids and the times of our own reads. */
function seen(billing: Awaited<ReturnType<typeof billingOf>>["billing"]) {
  const periodEnd = billing?.subscriptions[0]?.currentPeriodEnd;
  return {
    // The time itself differs from tenant to tenant; what matters is whether it is the period's end.
    paidUntil:
      billing?.paidUntil && billing.paidUntil === periodEnd ? "period end" : billing?.paidUntil,
    paymentFailed: billing?.paymentFailed,
    subscriptions: billing?.subscriptions.map(({ status, quantity, cancelAtPeriodEnd }) => ({
      status,
      quantity,
      cancelAtPeriodEnd,
    })),
    invoices: billing?.invoices.map(({ status, attemptCount, amountPaid }) => ({
      status,
      attemptCount,
      amountPaid,
    })),
  };
}

describe("events in any order", () => {
  it("gives the same billing state for every order of a subscription's creation and failed renewal", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    const results = new Set<string>();
    let orders = 0;
    // The four events that matter of each part; every order of the creation's, then every order
    // of the renewal's mixed in. Each order is delivered as given, one after another, and the
    // double's reads answer at once: this test is about order, not overlap (app-events-once).
    stripe.setReadLatency(0);
    for (const creation of permutations([0, 1, 2, 3])) {
      const { tenantId, subscriptionId, events } = await paidSubscription(headers, undefined, {
        deliverEvents: false,
      });
      const handled = (list: DoubleEvent[]) =>
        list.filter((e) => e.type !== "invoice.created" && e.type !== "invoice.payment_succeeded");
      const renewal = handled(stripe.billing.renew(subscriptionId, "failed"));
      const created = handled(events);
      const order = [...creation.map((i) => created[i] as DoubleEvent), ...renewal.reverse()];
      await deliverAll(order, { sequential: true });
      results.add(JSON.stringify(seen((await billingOf(read, tenantId)).billing)));
      orders++;
    }
    expect(orders).toBe(24);
    expect([...results]).toHaveLength(1);
    expect(JSON.parse([...results][0] ?? "{}")).toEqual({
      paidUntil: null,
      paymentFailed: true,
      subscriptions: [{ status: "past_due", quantity: 1, cancelAtPeriodEnd: false }],
      invoices: [
        { status: "open", attemptCount: 1, amountPaid: 0 },
        { status: "paid", attemptCount: 1, amountPaid: 1900 },
      ],
    });
  }, 30_000);

  it("gives the same state for every order of a renewal's events, each delivered twice", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    const results = new Set<string>();
    const renewalOrders = permutations([0, 1, 2]);
    stripe.setReadLatency(0); // about order: one after another, as given (see above)
    for (const order of renewalOrders) {
      const { tenantId, subscriptionId } = await paidSubscription(headers);
      const renewal = stripe.billing
        .renew(subscriptionId, "paid")
        .filter((e) =>
          ["invoice.finalized", "invoice.paid", "customer.subscription.updated"].includes(e.type),
        );
      const events = order.map((i) => renewal[i] as DoubleEvent);
      await deliverAll(events, { sequential: true });
      // Redelivered, in the other order: each id takes effect once, the state stays.
      for (const event of events.slice().reverse()) await deliver(event);
      results.add(JSON.stringify(seen((await billingOf(read, tenantId)).billing)));
    }
    expect([...results]).toHaveLength(1);
    expect(JSON.parse([...results][0] ?? "{}")).toMatchObject({ paidUntil: "period end" });
  }, 30_000);

  it("changes nothing for a stale customer.subscription.updated after deleted", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const [stale] = stripe.billing.changeQuantity(subscriptionId, 3);
    await deliverAll(stripe.billing.cancel(subscriptionId));
    const after = await subscriptionRow(subscriptionId);
    expect(after).toMatchObject({ status: "canceled", next_sync_at: null });
    // The stale event says active with quantity 3; what is written is what Stripe says now.
    expect((await deliver(stale)).status).toBe(200);
    const row = await subscriptionRow(subscriptionId);
    expect(row).toMatchObject({ status: "canceled", quantity: 3, ended_at: after?.ended_at });
  });

  it("never lets an older read overwrite a newer one", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const row = await subscriptionRow(subscriptionId);
    // A read written as if it were older than what is stored changes nothing.
    await env.DB.prepare(
      "UPDATE subscriptions SET fetched_at_ms = fetched_at_ms + 600000 WHERE id = ?1",
    )
      .bind(subscriptionId)
      .run();
    await deliverAll(stripe.billing.cancel(subscriptionId));
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ status: row?.status });
  });

  it("keeps a newer read when an older one is answered after it", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const [stale] = stripe.billing.changeQuantity(subscriptionId, 3);
    // The stale event's read sees quantity 3 and active at once, but its answer comes late:
    // meanwhile the subscription is canceled and that read is written first.
    stripe.fail({ kind: "delay", ms: 1500, afterCreate: true });
    const requestsBefore = stripe.requests.length;
    const slow = deliver(stale);
    await expect
      .poll(() => stripe.requests.length, { interval: 10, timeout: 1000 })
      .toBeGreaterThan(requestsBefore);
    await deliverAll(stripe.billing.cancel(subscriptionId));
    expect(await subscriptionRow(subscriptionId)).toMatchObject({ status: "canceled" });
    expect((await slow).status).toBe(200);
    expect(await subscriptionRow(subscriptionId)).toMatchObject({
      status: "canceled",
      next_sync_at: null,
    });
  });
});

describe("the reconciliation", () => {
  it("heals a missed failed renewal at the period's end, without anyone acting", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    const row = await subscriptionRow(subscriptionId);
    const periodEnd = Number(row?.current_period_end);
    expect(Number(row?.next_sync_at)).toBe(
      Math.min(periodEnd + 3600, Number(row?.synced_at) + 24 * 3600),
    );
    // The renewal fails at Stripe and every event of it is lost.
    stripe.billing.renew(subscriptionId, "failed");
    expect((await billingOf(read, tenantId)).billing?.paymentFailed).toBe(false);

    // Before it is due, the cron leaves it; once due, it reads it (and its latest invoice) again.
    stripe.requests.length = 0;
    await runCron(Number(row?.synced_at) + 60);
    expect(stripe.requests.filter((r) => r.path.startsWith("/v1/subscriptions/"))).toEqual([]);
    await runCron(Number(row?.next_sync_at) + 1);
    expect((await billingOf(read, tenantId)).billing).toMatchObject({
      paymentFailed: true,
      subscriptions: [{ status: "past_due" }],
    });
  });

  it("reads again a subscription whose last read is older than BILLING_RESYNC_HOURS, and leaves canceled ones", async () => {
    const { headers } = await givenWriter();
    const live = await paidSubscription(headers);
    const ended = await paidSubscription(headers);
    await deliverAll(stripe.billing.cancel(ended.subscriptionId));
    stripe.billing.changeQuantity(live.subscriptionId, 7);
    const row = await subscriptionRow(live.subscriptionId);
    stripe.requests.length = 0;
    await runCron(Number(row?.synced_at) + 24 * 3600 + 1);
    expect(await subscriptionRow(live.subscriptionId)).toMatchObject({ quantity: 7 });
    const reads = stripe.requests.filter((r) => r.method === "GET").map((r) => r.path);
    expect(reads).not.toContain(`/v1/subscriptions/${ended.subscriptionId}`);
  });

  it("tries a subscription again an hour later when Stripe is down, and stops the run", async () => {
    const { headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const row = await subscriptionRow(subscriptionId);
    const at = Number(row?.next_sync_at) + 1;
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    await runCron(at);
    expect(await subscriptionRow(subscriptionId)).toMatchObject({
      status: "active",
      next_sync_at: at + 3600,
    });
  });
});
