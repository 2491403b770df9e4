import { describe, expect, it } from "vitest";
import type { DoubleEvent } from "../../stripe-double/double.ts";
import { givenWriter } from "./helpers/apps.ts";
import { deliverAll, paidSubscription } from "./helpers/billing.ts";
import { eventsOfApp } from "./helpers/outbound.ts";
import { stripe } from "./helpers/stripe.ts";

/**
 * Issue 19, B1: the app is told each visible change once, whatever the interleaving of the
 * syncs that Stripe's events start. Stripe sends the events of one moment together, and their
 * reads overlap (deliverAll: all at once, the double's reads taking their time); each event's
 * sync may see the same change, and only the first to commit may tell it.
 */

/** The app's event types written since `after` (a sequence), as a sorted list. */
async function typesSince(appId: string, after: number): Promise<string[]> {
  return (await eventsOfApp(appId))
    .filter((e) => e.seq > after)
    .map((e) => e.type)
    .sort();
}

async function lastSeq(appId: string): Promise<number> {
  return (await eventsOfApp(appId)).at(-1)?.seq ?? 0;
}

/** Rounds per case: each round is one interleaving of the same events. */
const ROUNDS = 5;
/** A round takes about 0.3 s; a loaded machine may take several times that. */
const SLOW = 30_000;

describe("each change told once, events delivered together", () => {
  it(
    "a paid subscription checkout: subscription.created, invoice.paid and the checkout's, once each",
    async () => {
      const { app, headers } = await givenWriter();
      for (let round = 0; round < ROUNDS; round++) {
        const from = await lastSeq(app.id);
        const { events } = await paidSubscription(headers, undefined, { deliverEvents: false });
        await deliverAll(events);
        expect(await typesSince(app.id, from), `round ${round}`).toEqual([
          "checkout.completed",
          "checkout.payment_succeeded",
          "invoice.paid",
          "subscription.created",
        ]);
      }
    },
    SLOW,
  );

  it.each([
    ["paid", ["invoice.paid", "subscription.updated"]],
    ["failed", ["invoice.payment_failed", "subscription.updated"]],
  ] as const)(
    "a renewal that is %s: its events once each",
    async (outcome, expected) => {
      const { app, headers } = await givenWriter();
      for (let round = 0; round < ROUNDS; round++) {
        const { subscriptionId } = await paidSubscription(headers);
        const from = await lastSeq(app.id);
        await deliverAll(stripe.billing.renew(subscriptionId, outcome));
        expect(await typesSince(app.id, from), `round ${round}`).toEqual(expected);
      }
    },
    SLOW,
  );

  it("a renewal's events each delivered twice at once: still once each", async () => {
    const { app, headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    const from = await lastSeq(app.id);
    const renewal = stripe.billing.renew(subscriptionId, "paid");
    const twice: DoubleEvent[] = [...renewal, ...renewal.map((e) => ({ ...e }))];
    await deliverAll(twice);
    expect(await typesSince(app.id, from)).toEqual(["invoice.paid", "subscription.updated"]);
  });

  it("a card updated in the portal pays the failed renewal: invoice.paid and subscription.updated once", async () => {
    const { app, headers } = await givenWriter();
    const { subscriptionId } = await paidSubscription(headers);
    await deliverAll(stripe.billing.renew(subscriptionId, "failed"));
    const from = await lastSeq(app.id);
    await deliverAll(stripe.billing.updateCard(subscriptionId));
    expect(await typesSince(app.id, from)).toEqual(["invoice.paid", "subscription.updated"]);
  });
});
