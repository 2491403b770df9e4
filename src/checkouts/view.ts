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

const isoOrNull = (seconds: number | null) =>
  seconds === null ? null : new Date(seconds * 1000).toISOString();

export interface CheckoutDetails {
  id: string;
  hash: string;
  status: CheckoutRecord["status"];
  paymentStatus: string | null;
  mode: CheckoutRecord["mode"];
  livemode: boolean;
  tenantId: string | null;
  createdAt: string;
  expiresAt: string;
  openedAt: string | null;
  completedAt: string | null;
  /** Only while the checkout can still be paid. */
  nextAction: { url: string } | null;
}

/** The read route's `data.checkout`: the stored record, never the state or Stripe's own URL. */
export function toCheckoutDetails(
  record: CheckoutRecord,
  config: Config,
  nowSeconds: number,
): CheckoutDetails {
  const payable = record.status === "open" && record.expiresAt > nowSeconds;
  return {
    id: record.stripeSessionId ?? "",
    hash: record.hash,
    status: record.status === "open" && !payable ? "expired" : record.status,
    paymentStatus: record.paymentStatus,
    mode: record.mode,
    livemode: record.livemode,
    tenantId: record.tenantId,
    createdAt: new Date(record.createdAt * 1000).toISOString(),
    expiresAt: new Date(record.expiresAt * 1000).toISOString(),
    openedAt: isoOrNull(record.openedAt),
    completedAt: isoOrNull(record.completedAt),
    nextAction: payable ? { url: `${config.PUBLIC_BASE_URL}/checkout/${record.hash}` } : null,
  };
}
