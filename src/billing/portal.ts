import type Stripe from "stripe";
import type { AppRecord } from "../apps/records.ts";
import { findCurrentSubscription, listTenantSubscriptions } from "../db/billing.ts";
import { findTenantCustomer } from "../db/tenant-customers.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES, STRIPE_OPERATIONS } from "../messages.ts";
import type { PortalBody, PortalView } from "../schemas/billing.ts";
import type { StripeGateway } from "../stripe/client.ts";
import { isPortalNotConfigured, toStripeApiError } from "../stripe/errors.ts";
import { idempotencyKey } from "../stripe/idempotency.ts";

export interface PortalDeps {
  db: D1Database;
  stripeFor: (livemode: boolean) => StripeGateway;
}

/** Which subscription a flow is about: the one named (the tenant's), else its current one. */
async function subscriptionFor(
  deps: PortalDeps,
  key: { appId: string; tenantId: string; livemode: boolean },
  named: string | undefined,
): Promise<string> {
  if (named) {
    const mine = (await listTenantSubscriptions(deps.db, key)).some((s) => s.id === named);
    if (!mine) throw new ApiError("not_found", MESSAGES.subscriptionNotFound);
    return named;
  }
  const current = await findCurrentSubscription(deps.db, key);
  if (!current) {
    throw new ApiError("conflict", MESSAGES.portalNoSubscription(key.livemode ? "live" : "test"));
  }
  return current.id;
}

/**
 * A Stripe customer-portal session for the tenant's customer, returning to the app's
 * portalReturnUrl: optionally opened at one flow (a new card, cancelling or changing a
 * subscription). Refused without a customer (409) or a return URL (403), and with 409 while the
 * portal's settings were never saved at Stripe for this mode and account; Stripe's other failures
 * are answered as on the create route.
 */
export async function openPortal(
  deps: PortalDeps,
  input: { app: AppRecord; tenantId: string; body: PortalBody },
): Promise<PortalView> {
  const { app, tenantId, body } = input;
  const livemode = !body.test;
  const mode = livemode ? "live" : "test";
  if (livemode && !app.liveEnabled) throw new ApiError("forbidden", MESSAGES.liveNotEnabled);
  if (!app.portalReturnUrl) throw new ApiError("forbidden", MESSAGES.portalNoReturnUrl);
  const stripe = deps.stripeFor(livemode);
  const customer = await findTenantCustomer(deps.db, app.id, tenantId, livemode);
  if (!customer) throw new ApiError("conflict", MESSAGES.portalNoCustomer(mode));

  const key = { appId: app.id, tenantId, livemode };
  const params: Stripe.BillingPortal.SessionCreateParams = {
    customer,
    return_url: app.portalReturnUrl,
  };
  if (body.flow === "payment_method_update") {
    params.flow_data = { type: "payment_method_update" };
  } else if (body.flow === "subscription_cancel") {
    const subscription = await subscriptionFor(deps, key, body.subscriptionId);
    params.flow_data = { type: "subscription_cancel", subscription_cancel: { subscription } };
  } else if (body.flow === "subscription_update") {
    const subscription = await subscriptionFor(deps, key, body.subscriptionId);
    params.flow_data = { type: "subscription_update", subscription_update: { subscription } };
  }
  const stripeAccount = (livemode ? app.stripeAccountLive : app.stripeAccountTest) ?? null;
  try {
    // A portal session is cheap and short-lived: a key per request, so the SDK's own retries
    // of this request reach one session, and a new request a new one.
    const session = await stripe.createPortalSession(params, {
      idempotencyKey: await idempotencyKey("portal", crypto.randomUUID(), params),
      stripeAccount,
    });
    return { url: session.url, expiresAt: null };
  } catch (err) {
    // Only the operator can fix this, in Stripe's Dashboard: said so, without Stripe's own text.
    if (isPortalNotConfigured(err)) {
      throw new ApiError("conflict", MESSAGES.portalNotConfigured(mode, stripeAccount), {
        cause: err,
      });
    }
    throw toStripeApiError(err, livemode, STRIPE_OPERATIONS.createPortalSession);
  }
}
