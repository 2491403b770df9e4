/**
 * What a paid checkout leaves at Stripe, as far as this service reads it: subscriptions and
 * their invoices, the invoice and charge of a one-time payment (the portal: portal-sessions.ts).
 * And what happens to them later (a renewal that is paid or fails, a cancellation, a pause, a
 * refund), each returning the events Stripe would send, in the order Stripe sends them.
 */
import {
  type DoubleCharge,
  type DoubleInvoice,
  type DoubleRefund,
  type DoubleSubscription,
  publicCharge,
  publicInvoice,
  publicRefund,
  publicSubscription,
} from "./billing-objects.ts";
import type { DoubleSession } from "./checkout-sessions.ts";
import { type PortalHost, PortalSessions } from "./portal-sessions.ts";
import {
  type DoubleEvent,
  formGroup,
  noSuch,
  owns,
  type Price,
  randomId,
  StripeRefusal,
} from "./wire.ts";

const MONTH = 30 * 24 * 3600;

/** The `expand[]` of a request, refused as Stripe refuses a property it cannot expand. */
function expansions(form: Record<string, string>, allowed: readonly string[]): string[] {
  const asked = Object.entries(form)
    .filter(([name]) => /^expand\[\d*\]$/.test(name))
    .map(([, value]) => value);
  const refused = asked.find((path) => !allowed.includes(path));
  if (refused !== undefined) {
    throw new StripeRefusal(400, `This property cannot be expanded (${refused}).`, {
      param: "expand",
    });
  }
  return asked;
}

/** What the billing world needs of the double: its clock, its catalogue, its event maker. */
export interface BillingHost extends PortalHost {
  prices: Record<string, Price>;
  event(
    type: string,
    owner: { livemode: boolean; account: string | null },
    object: Record<string, unknown>,
  ): DoubleEvent;
}

export class BillingWorld {
  readonly subscriptions = new Map<string, DoubleSubscription>();
  readonly invoices = new Map<string, DoubleInvoice>();
  readonly charges = new Map<string, DoubleCharge>();
  readonly portal: PortalSessions;
  readonly refunds = new Map<string, DoubleRefund>();
  /** The billing mode of subscriptions made from now on (`flexible`, as Stripe's default). */
  billingMode: "flexible" | "classic" = "flexible";
  private readonly host: BillingHost;

  constructor(host: BillingHost) {
    this.host = host;
    this.portal = new PortalSessions(host, this.subscriptions);
  }

  clear(): void {
    this.subscriptions.clear();
    this.invoices.clear();
    this.charges.clear();
    this.portal.clear();
    this.refunds.clear();
    this.billingMode = "flexible";
  }

  private amountOf(priceId: string, quantity: number): { amount: number; currency: string } {
    const price = this.host.prices[priceId];
    return { amount: (price?.unitAmount ?? 1000) * quantity, currency: price?.currency ?? "eur" };
  }

  private newInvoice(
    owner: { livemode: boolean; account: string | null; customer: string },
    what: { priceId: string; quantity: number; periodStart: number; periodEnd: number },
    parent: { subscription: string; metadata: Record<string, string> } | null,
    metadata: Record<string, string>,
  ): DoubleInvoice {
    const { amount, currency } = this.amountOf(what.priceId, what.quantity);
    const invoice: DoubleInvoice = {
      id: randomId("in_"),
      livemode: owner.livemode,
      account: owner.account,
      customer: owner.customer,
      status: "open",
      currency,
      amount_due: amount,
      amount_paid: 0,
      attempt_count: 0,
      period_start: what.periodStart,
      period_end: what.periodEnd,
      created: this.host.nowSeconds(),
      metadata,
      subscription: parent?.subscription ?? null,
      subscription_metadata: parent?.metadata ?? {},
      paid_at: null,
      processing: false,
    };
    this.invoices.set(invoice.id, invoice);
    return invoice;
  }

  /** An invoice's payment attempt, and the events it causes (after invoice.finalized). */
  private attempt(invoice: DoubleInvoice, paid: boolean): DoubleEvent[] {
    invoice.attempt_count += 1;
    if (paid) {
      invoice.status = "paid";
      invoice.amount_paid = invoice.amount_due;
      invoice.paid_at = this.host.nowSeconds();
      return [
        this.invoiceEvent("invoice.paid", invoice),
        this.invoiceEvent("invoice.payment_succeeded", invoice),
      ];
    }
    return [this.invoiceEvent("invoice.payment_failed", invoice)];
  }

  private invoiceEvent(type: string, invoice: DoubleInvoice): DoubleEvent {
    return this.host.event(type, invoice, this.publicInvoice(invoice));
  }

  private subscriptionEvent(type: string, sub: DoubleSubscription): DoubleEvent {
    return this.host.event(type, sub, this.publicSubscription(sub));
  }

  /**
   * A subscription checkout paid: the subscription and its first invoice, paid. Stripe sends
   * the subscription's and the invoice's events before checkout.session.completed.
   */
  startSubscription(session: DoubleSession): DoubleEvent[] {
    const now = this.host.nowSeconds();
    const price = session.form["line_items[0][price]"] ?? "";
    const quantity = Number(session.form["line_items[0][quantity]"] ?? 1);
    const metadata = formGroup(session.form, "subscription_data[metadata]");
    const sub: DoubleSubscription = {
      id: session.subscription ?? randomId("sub_"),
      livemode: session.livemode,
      account: session.account,
      customer: session.customer ?? "",
      status: "active",
      metadata,
      price,
      quantity,
      billing_mode: this.billingMode,
      cancel_at_period_end: false,
      cancel_at: null,
      canceled_at: null,
      ended_at: null,
      trial_end: null,
      created: now,
      current_period_start: now,
      current_period_end: now + MONTH,
      latest_invoice: null,
      payment_method: session.form["allowed_payment_method_types[0]"] ?? "card",
    };
    this.subscriptions.set(sub.id, sub);
    const invoice = this.newInvoice(
      sub,
      { priceId: price, quantity, periodStart: now, periodEnd: now + MONTH },
      { subscription: sub.id, metadata },
      {},
    );
    sub.latest_invoice = invoice.id;
    session.invoice = invoice.id;
    return [
      this.subscriptionEvent("customer.subscription.created", sub),
      this.invoiceEvent("invoice.created", invoice),
      this.invoiceEvent("invoice.finalized", invoice),
      ...this.attempt(invoice, true),
    ];
  }

  /** A one-time checkout paid: its charge, and the invoice Checkout makes (invoice_creation). */
  chargePayment(session: DoubleSession): DoubleEvent[] {
    const price = session.form["line_items[0][price]"] ?? "";
    const quantity = Number(session.form["line_items[0][quantity]"] ?? 1);
    const { amount, currency } = this.amountOf(price, quantity);
    const charge: DoubleCharge = {
      id: randomId("ch_"),
      livemode: session.livemode,
      account: session.account,
      customer: session.customer,
      payment_intent: session.payment_intent ?? randomId("pi_"),
      payment_intent_metadata: formGroup(session.form, "payment_intent_data[metadata]"),
      amount,
      amount_refunded: 0,
      currency,
    };
    this.charges.set(charge.id, charge);
    if (session.form["invoice_creation[enabled]"] !== "true" || !session.customer) return [];
    const now = this.host.nowSeconds();
    const invoice = this.newInvoice(
      { ...charge, customer: session.customer },
      { priceId: price, quantity, periodStart: now, periodEnd: now },
      null,
      formGroup(session.form, "invoice_creation[invoice_data][metadata]"),
    );
    session.invoice = invoice.id;
    return [this.invoiceEvent("invoice.finalized", invoice), ...this.attempt(invoice, true)];
  }

  private subscription(id: string): DoubleSubscription {
    const sub = this.subscriptions.get(id);
    if (!sub) throw new Error(`stripe double: no subscription ${id}`);
    return sub;
  }

  /**
   * The period ends: a new one starts and its invoice is paid, or fails (past_due), or, paid by
   * SEPA Debit, is attempted and stays open while the debit settles (`settle` ends it): Stripe
   * counts the attempt and leaves the subscription active meanwhile.
   */
  renew(id: string, outcome: "paid" | "failed" | "processing"): DoubleEvent[] {
    const sub = this.subscription(id);
    if (sub.status === "canceled") throw new Error(`stripe double: ${id} is canceled`);
    if (outcome === "processing" && sub.payment_method !== "sepa_debit") {
      throw new Error(
        `stripe double: ${id} is paid by ${sub.payment_method}, which settles at once`,
      );
    }
    const start = sub.current_period_end;
    const end = start + MONTH;
    const invoice = this.newInvoice(
      sub,
      { priceId: sub.price, quantity: sub.quantity, periodStart: start, periodEnd: end },
      { subscription: sub.id, metadata: sub.metadata },
      {},
    );
    sub.latest_invoice = invoice.id;
    sub.current_period_start = start;
    sub.current_period_end = end;
    if (outcome === "processing") {
      invoice.attempt_count += 1;
      invoice.processing = true;
      return [
        this.invoiceEvent("invoice.created", invoice),
        this.invoiceEvent("invoice.finalized", invoice),
        this.subscriptionEvent("customer.subscription.updated", sub),
      ];
    }
    const attempted = this.attempt(invoice, outcome === "paid");
    sub.status = outcome === "paid" ? "active" : "past_due";
    return [
      this.invoiceEvent("invoice.created", invoice),
      this.invoiceEvent("invoice.finalized", invoice),
      ...attempted,
      this.subscriptionEvent("customer.subscription.updated", sub),
    ];
  }

  /** A SEPA debit in processing settles: the invoice is paid, or it fails (past_due). */
  settle(id: string, outcome: "paid" | "failed"): DoubleEvent[] {
    const sub = this.subscription(id);
    const invoice = sub.latest_invoice ? this.invoices.get(sub.latest_invoice) : undefined;
    if (!invoice?.processing) throw new Error(`stripe double: ${id} has no payment in processing`);
    invoice.processing = false;
    invoice.attempt_count -= 1; // the attempt was counted when it started
    const settled = this.attempt(invoice, outcome === "paid");
    if (outcome === "paid") return settled;
    sub.status = "past_due";
    return [...settled, this.subscriptionEvent("customer.subscription.updated", sub)];
  }

  /**
   * Canceled now (customer.subscription.deleted), or at the period's end (updated): in flexible
   * billing mode that sets only `cancel_at` (to the period's end) and leaves
   * `cancel_at_period_end` false; in classic mode it sets both
   * (docs.stripe.com/billing/subscriptions/billing-mode/compare, "Cancel at period end").
   */
  cancel(id: string, atPeriodEnd = false): DoubleEvent[] {
    const sub = this.subscription(id);
    const now = this.host.nowSeconds();
    sub.canceled_at = now;
    if (atPeriodEnd) {
      sub.cancel_at = sub.current_period_end;
      sub.cancel_at_period_end = sub.billing_mode === "classic";
      return [this.subscriptionEvent("customer.subscription.updated", sub)];
    }
    sub.status = "canceled";
    sub.ended_at = now;
    return [this.subscriptionEvent("customer.subscription.deleted", sub)];
  }

  /** A status Stripe may add one day: the subscription moves to it (customer.subscription.updated). */
  setStatus(id: string, status: string): DoubleEvent[] {
    const sub = this.subscription(id);
    sub.status = status;
    return [this.subscriptionEvent("customer.subscription.updated", sub)];
  }

  pause(id: string): DoubleEvent[] {
    const sub = this.subscription(id);
    sub.status = "paused";
    return [
      this.subscriptionEvent("customer.subscription.paused", sub),
      this.subscriptionEvent("customer.subscription.updated", sub),
    ];
  }

  resume(id: string): DoubleEvent[] {
    const sub = this.subscription(id);
    sub.status = "active";
    return [
      this.subscriptionEvent("customer.subscription.resumed", sub),
      this.subscriptionEvent("customer.subscription.updated", sub),
    ];
  }

  changeQuantity(id: string, quantity: number): DoubleEvent[] {
    const sub = this.subscription(id);
    sub.quantity = quantity;
    return [this.subscriptionEvent("customer.subscription.updated", sub)];
  }

  /** A new card: Stripe retries the subscription's open invoice with it, and it is paid. */
  updateCard(id: string): DoubleEvent[] {
    const sub = this.subscription(id);
    const open = sub.latest_invoice ? this.invoices.get(sub.latest_invoice) : undefined;
    if (open?.status !== "open") return [];
    const paid = this.attempt(open, true);
    sub.status = "active";
    return [...paid, this.subscriptionEvent("customer.subscription.updated", sub)];
  }

  voidInvoice(id: string): DoubleEvent[] {
    const invoice = this.invoices.get(id);
    if (invoice?.status !== "open") throw new Error(`stripe double: invoice ${id} is not open`);
    invoice.status = "void";
    return [this.invoiceEvent("invoice.voided", invoice)];
  }

  markUncollectible(id: string): DoubleEvent[] {
    const invoice = this.invoices.get(id);
    if (invoice?.status !== "open") throw new Error(`stripe double: invoice ${id} is not open`);
    invoice.status = "uncollectible";
    return [this.invoiceEvent("invoice.marked_uncollectible", invoice)];
  }

  /** Refunds all of a charge, or `amount` of it (at most what is left). */
  refund(chargeId: string, amount?: number): DoubleEvent[] {
    const charge = this.charges.get(chargeId);
    if (!charge) throw new Error(`stripe double: no charge ${chargeId}`);
    const left = charge.amount - charge.amount_refunded;
    const refunded = Math.min(amount ?? left, left);
    if (refunded <= 0) throw new Error(`stripe double: charge ${chargeId} is refunded already`);
    charge.amount_refunded += refunded;
    const refund: DoubleRefund = {
      id: randomId("re_"),
      charge: charge.id,
      amount: refunded,
      status: "succeeded",
    };
    this.refunds.set(refund.id, refund);
    return [
      this.host.event("refund.created", charge, publicRefund(refund, charge)),
      this.host.event("charge.refunded", charge, this.publicCharge(charge)),
    ];
  }

  /**
   * A refund fails after it was made (the card account is closed, a bank returns it): Stripe
   * marks it `failed`, gives the amount back to the charge (its `amount_refunded` goes down) and
   * sends `charge.refund.updated` with the refund, and `refund.updated` and `refund.failed`
   * (docs.stripe.com/refunds#failed-refunds; the pinned SDK's event types).
   */
  failRefund(refundId: string): DoubleEvent[] {
    const refund = this.refunds.get(refundId);
    if (refund?.status !== "succeeded")
      throw new Error(`stripe double: no refund ${refundId} to fail`);
    const charge = this.charges.get(refund.charge);
    if (!charge) throw new Error(`stripe double: no charge ${refund.charge}`);
    refund.status = "failed";
    charge.amount_refunded -= refund.amount;
    const shown = publicRefund(refund, charge);
    return [
      this.host.event("charge.refund.updated", charge, shown),
      this.host.event("refund.updated", charge, shown),
      this.host.event("refund.failed", charge, shown),
    ];
  }

  /** The charge of a paid one-time checkout, by the session's payment intent. */
  chargeOf(paymentIntent: string): DoubleCharge | undefined {
    return [...this.charges.values()].find((c) => c.payment_intent === paymentIntent);
  }

  /** GET of the objects, and POST /v1/billing_portal/sessions; null for other paths. */
  route(
    method: string,
    path: string,
    form: Record<string, string>,
    livemode: boolean,
    account: string | null,
  ): Record<string, unknown> | null {
    const get = /^\/v1\/(subscriptions|invoices|charges)\/([^/]+)$/.exec(path);
    if (method === "GET" && get?.[1] && get[2]) {
      const [kind, id] = [get[1], get[2]];
      if (kind === "subscriptions") {
        const sub = this.subscriptions.get(id);
        if (!sub || !owns(sub, livemode, account)) throw noSuch("subscription", id, "id", 404);
        return this.publicSubscription(sub);
      }
      if (kind === "invoices") {
        const invoice = this.invoices.get(id);
        if (!invoice || !owns(invoice, livemode, account)) throw noSuch("invoice", id, "id", 404);
        return this.publicInvoice(invoice);
      }
      const charge = this.charges.get(id);
      if (!charge || !owns(charge, livemode, account)) throw noSuch("charge", id, "id", 404);
      return this.publicCharge(charge, expansions(form, ["payment_intent"]).length > 0);
    }
    if (method === "POST" && path === "/v1/billing_portal/sessions") {
      return this.portal.create(form, livemode, account);
    }
    return null;
  }

  publicSubscription(sub: DoubleSubscription): Record<string, unknown> {
    return publicSubscription(sub);
  }

  publicInvoice(invoice: DoubleInvoice): Record<string, unknown> {
    return publicInvoice(invoice, this.host.checkoutOrigin);
  }

  publicCharge(charge: DoubleCharge, expandPaymentIntent = false): Record<string, unknown> {
    return publicCharge(charge, expandPaymentIntent);
  }
}

/** Events in another order than Stripe's usual one, as Stripe does not promise any. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
