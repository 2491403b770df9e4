import type { LoadSubscription } from "./billing-ledger.ts";
import type { Answer, LoadClient } from "./client.ts";
import { create } from "./creates.ts";
import { listCharges, listSubscriptions } from "./double-billing.ts";
import type { Kind } from "./kinds.ts";

/**
 * The kinds of the load that move paid checkouts on at Stripe, as time and customers do: a
 * subscription renewed (paid, or failed), a new card in the portal paying a failed renewal, a
 * cancellation at the period's end, a one-time payment refunded (in part or in full). Each goes
 * through the double's billing control routes (or its portal page), which deliver the move's
 * Stripe events to the worker all at once, as Stripe does, before answering; the other clients'
 * requests go on meanwhile. One move at a time per subscription or payment.
 */

/** Learns the subscription or charge of every checkout paid since the last look, at the double. */
async function lookUpPaid(client: LoadClient): Promise<void> {
  const { rec } = client;
  const ledger = rec.billing;
  if (ledger.lookedUp >= rec.completed.length) return;
  ledger.lookup ??= (async () => {
    const end = rec.completed.length;
    const fresh = rec.completed.slice(ledger.lookedUp, end);
    const origin = client.stack.stripeOrigin;
    const [subscriptions, charges] = await Promise.all([
      fresh.some((c) => c.body.mode === "subscription") ? listSubscriptions(origin) : [],
      fresh.some((c) => c.body.mode === "payment") ? listCharges(origin) : [],
    ]);
    const subscriptionOf = new Map(subscriptions.map((s) => [s.checkoutHash, s]));
    const chargeOf = new Map(charges.map((c) => [c.payment_intent_metadata.checkout_hash, c]));
    for (const checkout of fresh) {
      if (checkout.body.mode === "subscription") {
        const sub = subscriptionOf.get(checkout.hash);
        if (sub) {
          ledger.subscriptions.push({
            checkout,
            id: sub.id,
            tenantId: sub.tenantId,
            phase: "active",
            busy: false,
          });
        } else rec.note(`paid ${checkout.id} has no subscription at the double`);
      } else {
        const charge = chargeOf.get(checkout.hash);
        if (charge) {
          ledger.payments.push({
            checkout,
            chargeId: charge.id,
            amount: charge.amount,
            refundedTotals: [],
            busy: false,
            uncertain: false,
          });
        } else rec.note(`paid ${checkout.id} has no charge at the double`);
      }
    }
    ledger.lookedUp = end;
  })()
    .catch((err: unknown) => rec.note(`looking up paid checkouts at the double: ${String(err)}`))
    .finally(() => {
      ledger.lookup = null;
    });
  await ledger.lookup;
}

function pickFrom<T>(items: readonly T[], filter: (item: T) => boolean): T | undefined {
  const fitting = items.filter(filter);
  return fitting[Math.floor(Math.random() * fitting.length)];
}

const lost = (answer: Answer) => answer.status === "ERR" || answer.status === "timeout";

/**
 * POSTs a control route of the double; `200` means the move was made and its events delivered.
 * Wrong: an event the worker did not take (no 2xx after the double's redeliveries).
 */
async function controlMove(client: LoadClient, kind: Kind, path: string): Promise<Answer> {
  const answer = await client.send(`${client.stack.stripeOrigin}${path}`, { method: "POST" });
  let right = true;
  if (answer.status === "200") {
    let events: { type?: unknown; status?: unknown; attempts?: unknown }[] = [];
    try {
      events = (JSON.parse(answer.text) as { events?: typeof events }).events ?? [];
    } catch {
      right = false;
    }
    for (const e of events) {
      const status = Number(e.status);
      if (status >= 200 && status < 300) continue;
      right = false;
      client.rec.note(
        `${kind} ${path}: the worker answered ${String(e.type)} ${status} after ${String(e.attempts)} attempts`,
      );
    }
  } else {
    client.rec.note(`${kind} ${path} ${answer.status}: ${answer.text.slice(0, 200)}`);
  }
  if (lost(answer)) client.rec.billing.unknown++;
  client.rec.record(kind, answer.status, answer.ms, answer.status === "200", right);
  return answer;
}

/** A subscription fitting `filter`, kept busy while `move` runs (and after, if it was lost). */
async function moveSubscription(
  client: LoadClient,
  filter: (s: LoadSubscription) => boolean,
  move: (s: LoadSubscription) => Promise<boolean>,
): Promise<void> {
  await lookUpPaid(client);
  const sub = pickFrom(client.rec.billing.subscriptions, (s) => !s.busy && filter(s));
  if (!sub) return create(client);
  sub.busy = true;
  // A move whose answer was lost may or may not have been made: the subscription is left alone.
  if (await move(sub)) sub.busy = false;
}

function renew(client: LoadClient, outcome: "paid" | "failed"): Promise<void> {
  const kind = outcome === "paid" ? "renew-paid" : "renew-failed";
  return moveSubscription(
    client,
    // A failed renewal only of a paid-up one, so that each failure is a new invoice's.
    (s) => (outcome === "paid" ? s.phase !== "ending" : s.phase === "active"),
    async (s) => {
      const answer = await controlMove(
        client,
        kind,
        `/__double/subscriptions/${s.id}/renew?outcome=${outcome}`,
      );
      if (answer.status === "200") {
        s.phase = outcome === "paid" ? "active" : "past_due";
        if (outcome === "paid") client.rec.billing.renewalsPaid++;
        else client.rec.billing.renewalsFailed++;
      }
      return !lost(answer);
    },
  );
}

export const renewPaid = (client: LoadClient) => renew(client, "paid");
export const renewFailed = (client: LoadClient) => renew(client, "failed");

/**
 * A new card in the customer portal, for a subscription whose renewal failed: the app opens the
 * portal (the worker's route, write key), the customer presses "Update card" on the double's
 * portal page, and Stripe pays the open invoice with it (its events delivered before the 303).
 * Two requests, both counted under this kind. Only for a tenant's subscription: the portal is a
 * tenant's.
 */
export function cardUpdate(client: LoadClient): Promise<void> {
  return moveSubscription(
    client,
    (s) => s.phase === "past_due" && s.tenantId !== null,
    async (s) => {
      const portal = await client.post(
        `/api/v1/tenants/${s.tenantId}/portal-sessions`,
        JSON.stringify({ test: true, flow: "payment_method_update" }),
      );
      let url: unknown;
      try {
        url = (JSON.parse(portal.text) as { data?: { portal?: { url?: unknown } } }).data?.portal
          ?.url;
      } catch {
        url = undefined;
      }
      const opened = portal.status === "200" && typeof url === "string";
      if (portal.status !== "200") {
        client.rec.note(`portal for ${s.id} ${portal.status}: ${portal.text.slice(0, 200)}`);
      }
      client.rec.record("card-update", portal.status, portal.ms, portal.status === "200", opened);
      if (!opened || typeof url !== "string") return !lost(portal);

      const pay = await client.send(`${url}/card?subscription=${encodeURIComponent(s.id)}`, {
        method: "POST",
      });
      const location = pay.headers?.get("Location");
      if (pay.status === "303") {
        s.phase = "active";
        client.rec.billing.cardUpdates++;
      } else {
        client.rec.note(`card update of ${s.id} ${pay.status}: ${pay.text.slice(0, 200)}`);
      }
      if (pay.status === "303" && location !== url) {
        client.rec.note(`card update of ${s.id} went to ${location}`);
      }
      if (lost(pay)) client.rec.billing.unknown++;
      client.rec.record("card-update", pay.status, pay.ms, pay.status === "303", location === url);
      return !lost(pay);
    },
  );
}

export function cancelAtPeriodEnd(client: LoadClient): Promise<void> {
  return moveSubscription(
    client,
    (s) => s.phase !== "ending",
    async (s) => {
      const answer = await controlMove(
        client,
        "cancel-at-period-end",
        `/__double/subscriptions/${s.id}/cancel?atPeriodEnd=true`,
      );
      if (answer.status === "200") {
        s.phase = "ending";
        client.rec.billing.cancelsAtPeriodEnd++;
      }
      return !lost(answer);
    },
  );
}

/** Half of what is left of a paid one-time payment, or all of it, refunded. */
export async function refund(client: LoadClient): Promise<void> {
  await lookUpPaid(client);
  const ledger = client.rec.billing;
  const payment = pickFrom(
    ledger.payments,
    (p) => !p.busy && !p.uncertain && ledger.refundedTotalOf(p) < p.amount,
  );
  if (!payment) return create(client);
  payment.busy = true;
  const left = payment.amount - ledger.refundedTotalOf(payment);
  const amount = Math.random() < 0.5 ? left : Math.max(1, Math.floor(left / 2));
  const answer = await controlMove(
    client,
    "refund",
    `/__double/charges/${payment.chargeId}/refund?amount=${amount}`,
  );
  if (answer.status === "200") {
    payment.refundedTotals.push(ledger.refundedTotalOf(payment) + amount);
    ledger.refunds++;
  }
  if (lost(answer)) payment.uncertain = true;
  payment.busy = false;
}
