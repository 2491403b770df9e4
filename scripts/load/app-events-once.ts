import type { OutboundEvent } from "../../src/schemas/outbound-views.ts";
import type { DoubleSessionSummaries } from "../stripe-double-server.ts";
import type { DoubleBilling } from "./double-billing.ts";
import type { Check } from "./reconcile.ts";
import type { Recorder } from "./recorder.ts";

/**
 * The app's events as the service lists them, held against what the double holds and what the
 * load did: each change told exactly once. None twice (the same type of the same object in the
 * same visible state; a type that happens once per object, more than once), and none missing
 * (each completion, subscription, paid invoice, failed renewal and refund has its event, and
 * each subscription's last event shows it as the double has it).
 */

type EventObject = OutboundEvent["object"];

/** Types that happen at most once to an object. */
const ONCE_PER_OBJECT = new Set([
  "checkout.completed",
  "checkout.payment_succeeded",
  "checkout.expired",
  "subscription.created",
  "subscription.canceled",
  "invoice.paid",
]);

/** A checkout by its hash (its Stripe id may be null), the others by their Stripe id. */
const identity = (o: EventObject) => (o.kind === "checkout" ? o.hash : o.id);

/** What a receiver sees of the object, without the fields that only order the events. */
const visible = (o: EventObject) => JSON.stringify({ ...o, updatedAt: null, sequence: null });

/** Duplicates of each type: events that told nothing a receiver had not been told already. */
function duplicates(rec: Recorder, events: OutboundEvent[]): Check {
  const byType = new Map<string, { events: number; twice: number }>();
  const told = new Set<string>();
  const ordered = [...events].sort((a, b) => a.object.sequence - b.object.sequence);
  for (const e of ordered) {
    const id = identity(e.object);
    const state = visible(e.object);
    const stats = byType.get(e.type) ?? { events: 0, twice: 0 };
    byType.set(e.type, stats);
    stats.events++;
    const twice =
      told.has(`${e.type} ${id} ${state}`) ||
      (ONCE_PER_OBJECT.has(e.type) && told.has(`${e.type} ${id}`)) ||
      // An update showing the state its creation showed changed nothing.
      (e.type === "subscription.updated" && told.has(`subscription.created ${id} ${state}`));
    if (twice) {
      stats.twice++;
      rec.note(`told twice: ${e.type} of ${id} (event ${e.id}, sequence ${e.object.sequence})`);
    }
    told.add(`${e.type} ${id} ${state}`);
    told.add(`${e.type} ${id}`);
  }
  const total = [...byType.values()].reduce((sum, s) => sum + s.twice, 0);
  return {
    name: "11 each app event once",
    pass: total === 0,
    figures: `${total} of ${events.length} told twice; by type (twice of events): ${[...byType]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, s]) => `${type} ${s.twice}/${s.events}`)
      .join(", ")}`,
  };
}

/** The objects of one type's events, by identity. */
function objectsOf(events: OutboundEvent[], type: string): Set<string> {
  return new Set(events.filter((e) => e.type === type).map((e) => identity(e.object)));
}

/** Each of `due` (ids) has an event of `type`, and no event of that type is of another id. */
function toldEach(
  rec: Recorder,
  events: OutboundEvent[],
  type: string,
  due: string[],
): { missing: number; stray: number } {
  const told = objectsOf(events, type);
  const dueSet = new Set(due);
  const missing = due.filter((id) => !told.has(id));
  const stray = [...told].filter((id) => !dueSet.has(id));
  for (const id of missing.slice(0, 3)) rec.note(`no ${type} of ${id}`);
  for (const id of stray.slice(0, 3))
    rec.note(`${type} of ${id}, which the double does not have so`);
  return { missing: missing.length, stray: stray.length };
}

/** Each refund the load made has a payment.refunded showing the charge's refunded total then. */
function refundsTold(rec: Recorder, events: OutboundEvent[], billing: DoubleBilling): Check {
  const ledger = rec.billing;
  const amountsOf = new Map<string, number[]>();
  for (const e of events) {
    if (e.type !== "payment.refunded" || e.object.kind !== "checkout") continue;
    const list = amountsOf.get(e.object.hash) ?? [];
    list.push(e.object.refund?.amount ?? -1);
    amountsOf.set(e.object.hash, list);
  }
  const charges = new Map(billing.charges.map((c) => [c.id, c]));
  let missing = 0;
  let stray = 0;
  let otherAtDouble = 0;
  const refunded = new Set<string>();
  for (const p of ledger.payments) {
    const told = amountsOf.get(p.checkout.hash) ?? [];
    if (p.refundedTotals.length === 0 && !p.uncertain) continue;
    refunded.add(p.checkout.hash);
    const lacking = p.refundedTotals.filter((total) => !told.includes(total));
    missing += lacking.length;
    if (lacking.length > 0) rec.note(`no payment.refunded of ${p.checkout.id} at ${lacking}`);
    if (!p.uncertain) {
      const extra = told.filter((amount) => !p.refundedTotals.includes(amount));
      stray += extra.length;
      if (extra.length > 0) rec.note(`payment.refunded of ${p.checkout.id} at ${extra}`);
      if (charges.get(p.chargeId)?.amount_refunded !== ledger.refundedTotalOf(p)) otherAtDouble++;
    }
  }
  for (const [hash, amounts] of amountsOf) {
    if (refunded.has(hash)) continue;
    stray += amounts.length;
    rec.note(`payment.refunded of ${hash}, which the load did not refund`);
  }
  const payments = ledger.payments.filter((p) => p.refundedTotals.length > 0).length;
  return {
    name: "16 refunds told",
    pass: missing === 0 && stray === 0 && otherAtDouble === 0,
    figures: `${ledger.refunds} refunds of ${payments} payments: without payment.refunded ${missing}, payment.refunded of no refund ${stray}, charges refunded otherwise at the double ${otherAtDouble}`,
  };
}

const seconds = (iso: string | null | undefined) =>
  typeof iso === "string" ? Date.parse(iso) / 1000 : null;

/** Each subscription's last event shows its status, period end and cancelAt as at the double. */
function statesTold(
  rec: Recorder,
  events: OutboundEvent[],
  subscriptions: DoubleBilling["subscriptions"],
): Check {
  const last = new Map<string, EventObject>();
  for (const e of events) {
    if (e.object.kind !== "subscription") continue;
    const before = last.get(e.object.id);
    if (!before || before.sequence < e.object.sequence) last.set(e.object.id, e.object);
  }
  let stale = 0;
  for (const s of subscriptions) {
    const told = last.get(s.id);
    const same =
      told?.kind === "subscription" &&
      told.status === s.status &&
      seconds(told.currentPeriodEnd) === s.currentPeriodEnd &&
      seconds(told.cancelAt) === s.cancelAt;
    if (same) continue;
    stale++;
    rec.note(
      `the last event of ${s.id} shows ${told?.kind === "subscription" ? `${told.status} to ${told.currentPeriodEnd}, cancelAt ${told.cancelAt}` : "nothing"}; the double has ${s.status} to ${new Date(s.currentPeriodEnd * 1000).toISOString()}, cancelAt ${s.cancelAt}`,
    );
  }
  return {
    name: "17 subscription states told",
    pass: stale === 0,
    figures: `${subscriptions.length} subscriptions, the last event showing another status, period end or cancelAt ${stale}`,
  };
}

export function reconcileAppEvents(
  rec: Recorder,
  events: OutboundEvent[],
  double: DoubleSessionSummaries,
  billing: DoubleBilling,
): Check[] {
  const ours = new Set(rec.created.map((c) => c.hash));
  const isOurs = (hash: string | null) => hash !== null && ours.has(hash);
  const ledger = rec.billing;

  const complete = double.sessions
    .filter((s) => s.status === "complete" && isOurs(s.checkoutHash))
    .map((s) => s.checkoutHash ?? "");
  const completions = toldEach(rec, events, "checkout.completed", complete);

  const subscriptions = billing.subscriptions.filter((s) => isOurs(s.checkoutHash));
  const created = toldEach(
    rec,
    events,
    "subscription.created",
    subscriptions.map((s) => s.id),
  );

  const invoices = billing.invoices.filter((i) => isOurs(i.checkoutHash));
  const paid = invoices.filter((i) => i.status === "paid");
  const paidTold = toldEach(
    rec,
    events,
    "invoice.paid",
    paid.map((i) => i.id),
  );

  // An attempt failed: the invoice is still open after one, or was paid on a later one.
  const failed = invoices.filter(
    (i) => i.subscription !== null && i.attemptCount > (i.status === "paid" ? 1 : 0),
  );
  const failedTold = toldEach(
    rec,
    events,
    "invoice.payment_failed",
    failed.map((i) => i.id),
  );
  const failedAsMade =
    ledger.renewalsFailed <= failed.length &&
    failed.length <= ledger.renewalsFailed + ledger.unknown;

  return [
    duplicates(rec, events),
    {
      name: "12 completions told",
      pass: completions.missing === 0 && completions.stray === 0,
      figures: `${complete.length} checkouts complete at the double: without checkout.completed ${completions.missing}, checkout.completed of none ${completions.stray}`,
    },
    {
      name: "13 subscriptions told",
      pass: created.missing === 0 && created.stray === 0,
      figures: `${subscriptions.length} subscriptions at the double: without subscription.created ${created.missing}, subscription.created of none ${created.stray}`,
    },
    {
      name: "14 paid invoices told",
      pass: paidTold.missing === 0 && paidTold.stray === 0,
      figures: `${paid.length} invoices paid at the double (${ledger.renewalsPaid} renewals paid, ${ledger.cardUpdates} by a new card): without invoice.paid ${paidTold.missing}, invoice.paid of none ${paidTold.stray}`,
    },
    {
      name: "15 failed renewals told",
      pass: failedTold.missing === 0 && failedTold.stray === 0 && failedAsMade,
      figures: `${failed.length} invoices failed at the double (${ledger.renewalsFailed} failed renewals made${ledger.unknown ? `, ${ledger.unknown} moves of unknown outcome` : ""}): without invoice.payment_failed ${failedTold.missing}, invoice.payment_failed of none ${failedTold.stray}`,
    },
    refundsTold(rec, events, billing),
    statesTold(rec, events, subscriptions),
  ];
}
