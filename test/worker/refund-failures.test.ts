import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DoubleEvent } from "../../stripe-double/double.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { deliverAll } from "./helpers/billing.ts";
import { postJson, validBody } from "./helpers/http.ts";
import { eventsOfApp } from "./helpers/outbound.ts";
import { stripe } from "./helpers/stripe.ts";
import { deliver } from "./helpers/webhooks.ts";

/**
 * Issue 19, B7: refunds as Stripe says. A refund can fail after `charge.refunded` (Stripe gives
 * the amount back to the charge and sends `charge.refund.updated`); the refunded amount is what
 * Stripe says now, the later read wins (no MAX), and the app is told the refund failed.
 */

async function paidOneTime() {
  const { app, headers } = await givenWriter();
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState() }),
    headers,
  );
  const { id } = (res.body.data as { checkout: { id: string } }).checkout;
  await deliverAll(stripe.completeSession(id));
  const charge = stripe.billing.chargeOf(stripe.sessions.get(id)?.payment_intent ?? "");
  if (!charge) throw new Error("no charge at the double");
  return { app, id, charge };
}

/** The refund a refund's events are about (refund.created carries it). */
function refundIdOf(events: readonly DoubleEvent[]): string {
  const id = (events[0]?.data.object as { id?: string } | undefined)?.id;
  if (!id) throw new Error("no refund event");
  return id;
}

async function checkoutRow(sessionId: string) {
  return env.DB.prepare(
    "SELECT payment_status, refunded_amount, refund_currency FROM checkout_sessions WHERE stripe_session_id = ?1",
  )
    .bind(sessionId)
    .first<{ payment_status: string; refunded_amount: number | null; refund_currency: string }>();
}

const refundTypes = async (appId: string) =>
  (await eventsOfApp(appId)).map((e) => e.type).filter((t) => t.startsWith("payment."));

describe("a refund that fails after it was made", () => {
  it("takes the refunded amount back, makes the payment paid again, and tells the app once", async () => {
    const { app, id, charge } = await paidOneTime();
    const refunded = stripe.billing.refund(charge.id);
    await deliverAll(refunded);
    expect(await checkoutRow(id)).toMatchObject({
      payment_status: "refunded",
      refunded_amount: 4900,
    });
    const refundId = refundIdOf(refunded);
    const failed = stripe.billing.failRefund(refundId);
    expect(failed.map((e) => e.type)).toEqual([
      "charge.refund.updated",
      "refund.updated",
      "refund.failed",
    ]);
    await deliverAll(failed);
    await deliverAll(failed.map((e) => ({ ...e, id: `${e.id}_again` })));
    expect(await checkoutRow(id)).toMatchObject({ payment_status: "paid", refunded_amount: 0 });
    expect(await refundTypes(app.id)).toEqual(["payment.refunded", "payment.refund_failed"]);
  });

  it("keeps the partial refund that did not fail", async () => {
    const { app, id, charge } = await paidOneTime();
    await deliverAll(stripe.billing.refund(charge.id, 1000));
    const second = stripe.billing.refund(charge.id, 500);
    await deliverAll(second);
    expect(await checkoutRow(id)).toMatchObject({
      payment_status: "partially_refunded",
      refunded_amount: 1500,
    });
    const secondId = refundIdOf(second);
    await deliverAll(stripe.billing.failRefund(secondId));
    expect(await checkoutRow(id)).toMatchObject({
      payment_status: "partially_refunded",
      refunded_amount: 1000,
    });
    expect(await refundTypes(app.id)).toEqual([
      "payment.refunded",
      "payment.refunded",
      "payment.refund_failed",
    ]);
  });

  it("never lets an older read of the charge overwrite a newer one", async () => {
    const { id, charge } = await paidOneTime();
    const refunded = stripe.billing.refund(charge.id);
    const chargeRefunded = refunded.find((e) => e.type === "charge.refunded");
    if (!chargeRefunded) throw new Error("no charge.refunded");
    // charge.refunded's read sees the refund, but Stripe's answer comes late; meanwhile the
    // refund fails and charge.refund.updated's read (later) sees it failed and is written first.
    stripe.fail({ kind: "delay", ms: 400, afterCreate: true });
    const late = deliver(chargeRefunded);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refundId = refundIdOf(refunded);
    const [updated] = stripe.billing.failRefund(refundId);
    if (!updated) throw new Error("no charge.refund.updated");
    expect((await deliver(updated)).status).toBe(200);
    expect((await late).status).toBe(200);
    // As Stripe says now: never refunded (the refund it saw first has failed since).
    expect(await checkoutRow(id)).toMatchObject({ payment_status: "paid", refunded_amount: null });
  });
});
