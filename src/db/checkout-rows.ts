/** The checkout_sessions row and its mapping to the record the services use. */

type CheckoutStatus = "pending" | "open" | "complete" | "expired";
type CheckoutMode = "payment" | "subscription" | "setup";
export type TaxExemptStatus = "pending" | "applied" | "failed";

export interface CheckoutRecord {
  id: string;
  hash: string;
  appId: string;
  tenantId: string | null;
  /** The subject of the access token that created it; null for an API key. */
  createdBy: string | null;
  livemode: boolean;
  stateDigest: string;
  requestFingerprint: string;
  status: CheckoutStatus;
  paymentStatus: string | null;
  stripeSessionId: string | null;
  stripeUrl: string | null;
  stripeAccount: string | null;
  stripeCustomerId: string | null;
  mode: CheckoutMode;
  price: string;
  quantity: number;
  taxRate: string;
  allowedCountry: string;
  paymentMethod: string;
  billingAddressCollection: boolean;
  reverseCharge: boolean;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  openedAt: number | null;
  completedAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number;
  taxExemptStatus: TaxExemptStatus | null;
  taxExemptError: string | null;
  refundedAmount: number | null;
  refundCurrency: string | null;
  /** When a newer checkout of the tenant (or a completed one) replaced this open one. */
  supersededAt: number | null;
}

export interface CheckoutRow {
  id: string;
  hash: string;
  app_id: string;
  tenant_id: string | null;
  created_by: string | null;
  livemode: number;
  state_digest: string;
  request_fingerprint: string;
  status: CheckoutStatus;
  payment_status: string | null;
  stripe_session_id: string | null;
  stripe_url: string | null;
  stripe_account: string | null;
  stripe_customer_id: string | null;
  mode: CheckoutMode;
  price: string;
  quantity: number;
  tax_rate: string;
  allowed_country: string;
  payment_method: string;
  billing_address_collection: number;
  reverse_charge: number;
  created_at: number;
  updated_at: number;
  expires_at: number;
  opened_at: number | null;
  completed_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number;
  tax_exempt_status: TaxExemptStatus | null;
  tax_exempt_error: string | null;
  refunded_amount: number | null;
  refund_currency: string | null;
  superseded_at: number | null;
}

export function toRecord(row: CheckoutRow): CheckoutRecord {
  return {
    id: row.id,
    hash: row.hash,
    appId: row.app_id,
    tenantId: row.tenant_id,
    createdBy: row.created_by,
    livemode: row.livemode === 1,
    stateDigest: row.state_digest,
    requestFingerprint: row.request_fingerprint,
    status: row.status,
    paymentStatus: row.payment_status,
    stripeSessionId: row.stripe_session_id,
    stripeUrl: row.stripe_url,
    stripeAccount: row.stripe_account,
    stripeCustomerId: row.stripe_customer_id,
    mode: row.mode,
    price: row.price,
    quantity: row.quantity,
    taxRate: row.tax_rate,
    allowedCountry: row.allowed_country,
    paymentMethod: row.payment_method,
    billingAddressCollection: row.billing_address_collection === 1,
    reverseCharge: row.reverse_charge === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    openedAt: row.opened_at,
    completedAt: row.completed_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    taxExemptStatus: row.tax_exempt_status,
    taxExemptError: row.tax_exempt_error,
    refundedAmount: row.refunded_amount,
    refundCurrency: row.refund_currency,
    supersededAt: row.superseded_at,
  };
}

export function toRecordOrNull(row: CheckoutRow | null): CheckoutRecord | null {
  return row ? toRecord(row) : null;
}
