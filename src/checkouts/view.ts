import type { CheckoutRecord } from "../db/checkouts.ts";
import type { Config } from "../env.ts";

export interface CheckoutView {
  id: string;
  hash: string;
  nextAction: { url: string };
  status: CheckoutRecord["status"];
  mode: CheckoutRecord["mode"];
  livemode: boolean;
  tenantId: string | null;
  expiresAt: string;
}

/** The response's `data.checkout`; `id` is the Stripe Checkout Session id. */
export function toCheckoutView(record: CheckoutRecord, config: Config): CheckoutView {
  return {
    id: record.stripeSessionId ?? "",
    hash: record.hash,
    nextAction: { url: `${config.PUBLIC_BASE_URL}/checkout/${record.hash}` },
    status: record.status,
    mode: record.mode,
    livemode: record.livemode,
    tenantId: record.tenantId,
    expiresAt: new Date(record.expiresAt * 1000).toISOString(),
  };
}
