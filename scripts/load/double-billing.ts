import type { DoubleCharge } from "../../stripe-double/billing-objects.ts";
import type { InvoiceLine, SubscriptionLine } from "../lib/double-billing-control.ts";
import { REQUEST_TIMEOUT_MS } from "./client.ts";

/**
 * What the Stripe double holds of billing, read from its loopback listings
 * (scripts/lib/double-billing-control.ts): the harness's own reads, not load requests.
 */

export interface DoubleBilling {
  subscriptions: SubscriptionLine[];
  invoices: InvoiceLine[];
  charges: DoubleCharge[];
}

async function list<T>(stripeOrigin: string, path: string): Promise<T[]> {
  const response = await fetch(`${stripeOrigin}${path}`, {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`GET ${path} at the double: ${response.status}`);
  return (await response.json()) as T[];
}

export function listSubscriptions(stripeOrigin: string): Promise<SubscriptionLine[]> {
  return list(stripeOrigin, "/__double/subscriptions");
}

export function listCharges(stripeOrigin: string): Promise<DoubleCharge[]> {
  return list(stripeOrigin, "/__double/charges");
}

export async function readDoubleBilling(stripeOrigin: string): Promise<DoubleBilling> {
  const [subscriptions, invoices, charges] = await Promise.all([
    listSubscriptions(stripeOrigin),
    list<InvoiceLine>(stripeOrigin, "/__double/invoices"),
    listCharges(stripeOrigin),
  ]);
  return { subscriptions, invoices, charges };
}
