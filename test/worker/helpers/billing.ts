import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../../src/index.ts";
import { type DeliveryOptions, deliverEvents } from "../../../stripe-double/delivery.ts";
import type { DoubleEvent } from "../../../stripe-double/double.ts";
import { newState } from "./apps.ts";
import { call, postJson, validBody } from "./http.ts";
import { stripe } from "./stripe.ts";
import { deliver } from "./webhooks.ts";

/**
 * Delivers Stripe's events to the worker as Stripe does (stripe-double/delivery.ts): all at
 * once, each failure delivered again; `{ sequential: true }` only where a test needs one after
 * another. Every event must end taken (200).
 */
export async function deliverAll(
  events: readonly DoubleEvent[],
  options: DeliveryOptions = {},
): Promise<void> {
  const answers = new Map<string, string>();
  const results = await deliverEvents(
    events,
    async (event) => {
      const res = await deliver(event);
      answers.set(event.id, `${res.status} ${JSON.stringify(res.body)}`);
      return res.status;
    },
    options,
  );
  const refused = results.filter((r) => r.status !== 200);
  if (refused.length > 0) {
    throw new Error(refused.map((r) => `${r.event.type}: ${answers.get(r.event.id)}`).join("; "));
  }
}

/** A customer at the double that an earlier checkout of the tenant left (tenant_customers). */
export async function givenTenantCustomer(
  appId: string,
  tenantId: string,
  livemode: boolean,
  account: string | null = null,
): Promise<string> {
  const customer = stripe.addCustomer(livemode, account);
  const now = Math.floor(Date.now() / 1000);
  await env.DB.prepare(
    "INSERT INTO tenant_customers (app_id, tenant_id, livemode, stripe_customer_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
  )
    .bind(appId, tenantId, livemode ? 1 : 0, customer, now)
    .run();
  return customer;
}

/**
 * A tenant's subscription checkout, created through the API and paid at the double; its
 * events delivered unless `deliverEvents` is false. Returns the ids on both sides.
 */
export async function paidSubscription(
  headers: Record<string, string>,
  tenantId: string = crypto.randomUUID(),
  options: { deliverEvents?: boolean; quantity?: number; paymentMethodType?: "sepa" } = {},
) {
  const res = await postJson(
    `/api/v1/tenants/${tenantId}/checkout-sessions`,
    validBody({
      state: newState(),
      mode: "subscription",
      price: "price_eur_monthly",
      quantity: options.quantity ?? 1,
      ...(options.paymentMethodType ? { paymentMethodType: options.paymentMethodType } : {}),
    }),
    headers,
  );
  if (res.status !== 200) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  const sessionId = (res.body.data as { checkout: { id: string } }).checkout.id;
  const events = stripe.completeSession(sessionId);
  if (options.deliverEvents !== false) await deliverAll(events);
  const subscriptionId = stripe.sessions.get(sessionId)?.subscription;
  if (!subscriptionId) throw new Error("the double made no subscription");
  return { tenantId, sessionId, subscriptionId, events };
}

interface BillingBody {
  tenantId: string;
  livemode: boolean;
  customerId: string | null;
  paidUntil: string | null;
  paymentFailed: boolean;
  subscriptions: {
    id: string;
    status: string;
    quantity: number | null;
    currentPeriodEnd: string | null;
    cancelAtPeriodEnd: boolean;
    duplicateOf: string | null;
  }[];
  invoices: { id: string; status: string | null; attemptCount: number; amountPaid: number }[];
}

export async function billingOf(
  headers: Record<string, string>,
  tenantId: string,
  query = "?test=true",
) {
  const res = await call(`/api/v1/tenants/${tenantId}/billing${query}`, { headers });
  return { ...res, billing: (res.body.data as { billing?: BillingBody } | null)?.billing };
}

export async function subscriptionRow(id: string) {
  return env.DB.prepare("SELECT * FROM subscriptions WHERE id = ?1")
    .bind(id)
    .first<Record<string, unknown>>();
}

export async function runCron(atSeconds: number) {
  await worker.scheduled(
    createScheduledController({ scheduledTime: atSeconds * 1000, cron: "*/10 * * * *" }),
    env,
  );
}
