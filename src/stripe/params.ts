import type Stripe from "stripe";
import type { CreateCheckoutBody } from "../schemas/checkout.ts";

export interface CheckoutContext {
  appId: string;
  tenantId: string | null;
  hash: string;
  /** Unix seconds, fixed when the state was first reserved, so retries send the same value. */
  expiresAt: number;
  successUrl: string;
  cancelUrl: string;
  /** The tenant's Stripe customer in this mode, if an earlier checkout created one. */
  customerId: string | null;
}

/** The text Stripe prints on invoices of reverse-charge checkouts. */
export const REVERSE_CHARGE_FOOTER =
  "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Council Directive 2006/112/EC).";

const PAYMENT_METHOD: Record<
  "card" | "sepa",
  Stripe.Checkout.SessionCreateParams.AllowedPaymentMethodType
> = {
  card: "card",
  sepa: "sepa_debit",
};

/** Adds Stripe's `{CHECKOUT_SESSION_ID}` template to a URL without encoding its braces. */
function withSessionIdTemplate(url: string): string {
  const [beforeHash, ...hash] = url.split("#");
  const separator = beforeHash?.includes("?") ? "&" : "?";
  return `${beforeHash}${separator}session_id={CHECKOUT_SESSION_ID}${hash.length ? `#${hash.join("#")}` : ""}`;
}

/**
 * Maps a validated request to the parameters of `POST /v1/checkout/sessions` for the API
 * version the installed SDK pins. Pure: the same input always gives the same parameters,
 * which is what lets a retry reuse its Idempotency-Key.
 */
export function buildCheckoutSessionParams(
  body: CreateCheckoutBody & { paymentMethodType: "card" | "sepa" },
  ctx: CheckoutContext,
): Stripe.Checkout.SessionCreateParams {
  const metadata: Stripe.MetadataParam = {
    app_id: ctx.appId,
    checkout_hash: ctx.hash,
    ...(ctx.tenantId ? { tenant_id: ctx.tenantId } : {}),
  };
  const params: Stripe.Checkout.SessionCreateParams = {
    mode: body.mode,
    success_url: withSessionIdTemplate(ctx.successUrl),
    cancel_url: ctx.cancelUrl,
    allowed_payment_method_types: [PAYMENT_METHOD[body.paymentMethodType]],
    billing_address_collection: body.billingAddressCollection ? "required" : "auto",
    expires_at: ctx.expiresAt,
    metadata,
    ...(ctx.tenantId ? { client_reference_id: ctx.tenantId } : {}),
    ...(ctx.customerId ? { customer: ctx.customerId } : {}),
  };

  if (body.mode !== "setup") {
    params.line_items = [{ price: body.price, quantity: body.quantity, tax_rates: [body.taxRate] }];
    params.shipping_address_collection = { allowed_countries: [body.allowedCountry] };
  }

  if (body.mode === "payment") {
    params.payment_intent_data = { metadata };
    params.invoice_creation = {
      enabled: true,
      invoice_data: {
        metadata,
        ...(body.isReverseCharge ? { footer: REVERSE_CHARGE_FOOTER } : {}),
      },
    };
    // Without a known customer, have Checkout create one, so the tenant's customer can be
    // recorded from the completed session and reused (and a later setup session is possible).
    if (!ctx.customerId) params.customer_creation = "always";
  } else if (body.mode === "subscription") {
    params.subscription_data = {
      metadata,
      ...(body.isReverseCharge ? { invoice_settings: { footer: REVERSE_CHARGE_FOOTER } } : {}),
    };
  } else {
    params.setup_intent_data = { metadata };
  }

  if (body.isReverseCharge && body.mode !== "setup") {
    params.tax_id_collection = { enabled: true, required: "if_supported" };
    // Stripe requires these when a known customer's tax id and name may be collected.
    if (ctx.customerId) params.customer_update = { name: "auto", address: "auto" };
  }
  return params;
}
