import type { AppRecord } from "../apps/records.ts";
import type { Config } from "../config.ts";
import { sha256Hex } from "../crypto.ts";
import { findCurrentSubscription, findSubscriptionAwaitingEvents } from "../db/billing.ts";
import type { CheckoutRecord } from "../db/checkout-rows.ts";
import {
  dropReservationCustomer,
  findCheckoutByState,
  markCheckoutOpen,
  refuseReservation,
  releaseLease,
  type SupersededCheckout,
} from "../db/checkouts.ts";
import { findTenantCustomer, forgetTenantCustomer } from "../db/tenant-customers.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import type { CreateCheckoutBody } from "../schemas/checkout.ts";
import type { CheckoutView } from "../schemas/responses.ts";
import type { CreatedSession, StripeGateway } from "../stripe/client.ts";
import {
  CREATE_CHECKOUT_SESSION,
  isResourceMissing,
  spentIdempotencyKey,
  toStripeApiError,
} from "../stripe/errors.ts";
import { idempotencyKey } from "../stripe/idempotency.ts";
import { buildCheckoutSessionParams } from "../stripe/params.ts";
import { claimCheckout, renewedReservation } from "./claim.ts";
import { toCheckoutView } from "./view.ts";

export interface CreateCheckoutDeps {
  db: D1Database;
  config: Config;
  /** The Stripe gateway for a mode; throws (500, naming the secret) if that mode is not configured. */
  stripeFor: (livemode: boolean) => StripeGateway;
  now: () => number;
}

export interface CreateCheckoutInput {
  app: AppRecord;
  tenantId: string | null;
  /** The subject of the access token that asks; null for an API key. */
  createdBy: string | null;
  body: CreateCheckoutBody;
}

type PayableBody = CreateCheckoutBody & { paymentMethodType: "card" | "sepa" };

/**
 * The checkout to answer with, and the tenant's earlier open subscription checkouts it replaced
 * (src/checkouts/supersede.ts expires them at Stripe, after the answer).
 */
export interface CreatedCheckout {
  checkout: CheckoutView;
  superseded: SupersededCheckout[];
}

/**
 * What identifies "the same request" for one state: every field except state itself, and who
 * may read its checkout: the tenant, or without one the token's subject that created it. So a
 * repeated state never answers with a checkout that the caller could not read (another
 * subject's is 409). Without a subject (API keys) the fingerprint is what it always was.
 */
async function fingerprint(
  tenantId: string | null,
  createdBy: string | null,
  body: CreateCheckoutBody,
): Promise<string> {
  const { state: _state, test: _test, ...rest } = body;
  const reader = tenantId === null && createdBy !== null ? { createdBy } : {};
  const ordered = Object.fromEntries(
    Object.entries({ ...rest, tenantId, ...reader }).sort(([a], [b]) => a.localeCompare(b)),
  );
  return sha256Hex(JSON.stringify(ordered));
}

/** The refusals that need no Stripe call: sofort, live mode, the app's own configuration. */
function refuseEarly(deps: CreateCheckoutDeps, app: AppRecord, body: CreateCheckoutBody): void {
  if (body.paymentMethodType === "sofort") {
    throw new ApiError("bad_request", MESSAGES.sofortDiscontinued);
  }
  if (!body.test && !app.liveEnabled) throw new ApiError("forbidden", MESSAGES.liveNotEnabled);
  if (!body.test && !deps.config.PUBLIC_BASE_URL.startsWith("https://")) {
    throw new ApiError("internal", MESSAGES.liveNeedsHttps);
  }
  if (!app.successUrl || !app.cancelUrl) throw new ApiError("forbidden", MESSAGES.noReturnUrls);
}

/** A settled checkout is answered only with the Stripe session it has; without one it is gone. */
function settledView(deps: CreateCheckoutDeps, record: CheckoutRecord): CheckoutView {
  const { stripeSessionId } = record;
  if (!stripeSessionId) throw new ApiError("gone", MESSAGES.stateExpiredUnconfirmed);
  return toCheckoutView({ ...record, stripeSessionId }, deps.config, deps.now());
}

/**
 * Creates (or, for a repeated state, returns) one checkout. The state is claimed in D1 before
 * Stripe is called (src/checkouts/claim.ts), so concurrent duplicates make one Stripe call; the
 * call's Idempotency-Key is derived from the reservation and its parameters, so a retry after
 * any failure reaches the same Stripe session instead of a second one.
 */
export async function createCheckout(
  deps: CreateCheckoutDeps,
  input: CreateCheckoutInput,
): Promise<CreatedCheckout> {
  const { app, tenantId, createdBy, body } = input;
  refuseEarly(deps, app, body);
  const livemode = !body.test;
  const stripe = deps.stripeFor(livemode);

  // The tenant's customer is needed before reserving: a setup checkout without one is refused.
  const customerId = tenantId
    ? await findTenantCustomer(deps.db, app.id, tenantId, livemode)
    : null;
  if (body.mode === "setup" && !customerId) {
    throw new ApiError(
      "conflict",
      MESSAGES.setupNeedsCustomer(livemode ? "live" : "test", tenantId !== null),
    );
  }
  const claim = await claimCheckout(deps, {
    appId: app.id,
    tenantId,
    createdBy,
    livemode,
    stateDigest: await sha256Hex(body.state),
    requestFingerprint: await fingerprint(tenantId, createdBy, body),
    stripeAccount: (livemode ? app.stripeAccountLive : app.stripeAccountTest) ?? null,
    stripeCustomerId: customerId,
    mode: body.mode,
    price: body.price,
    quantity: body.quantity,
    taxRate: body.taxRate,
    allowedCountry: body.allowedCountry,
    paymentMethod: body.paymentMethodType,
    billingAddressCollection: body.billingAddressCollection,
    reverseCharge: body.isReverseCharge,
  });
  if (claim.kind === "settled")
    return { checkout: settledView(deps, claim.record), superseded: [] };
  return openAtStripe(deps, stripe, claim.record, claim.leaseOwner, body as PayableBody, app);
}

type Attempt = { session: CreatedSession } | { failure: unknown };

/**
 * One try at Stripe: the session created. Nothing else changes at Stripe before the checkout is
 * paid (the customer's tax treatment follows paid checkouts: src/checkouts/tax-exempt.ts).
 */
async function attemptAtStripe(
  stripe: StripeGateway,
  record: CheckoutRecord,
  body: PayableBody,
  app: AppRecord,
): Promise<Attempt> {
  const params = buildCheckoutSessionParams(body, {
    appId: record.appId,
    tenantId: record.tenantId,
    hash: record.hash,
    expiresAt: record.expiresAt,
    successUrl: app.successUrl ?? "",
    cancelUrl: app.cancelUrl ?? "",
    customerId: record.stripeCustomerId,
  });
  const options = {
    idempotencyKey: await idempotencyKey(
      "session",
      record.id,
      record.livemode,
      record.stripeAccount,
      params,
    ),
    stripeAccount: record.stripeAccount,
  };
  try {
    return { session: await stripe.createCheckoutSession(params, options) };
  } catch (failure) {
    return { failure };
  }
}

/**
 * The lease holder's part: calls Stripe and records the session, or frees the state with the
 * refusal kept (Stripe refused: nothing exists there), or releases the lease (anything else:
 * Stripe may have acted, so the row stays pending and the retry reaches the same session).
 * A tenant's customer that Stripe no longer has is forgotten, and the attempt made once more
 * without it.
 */
async function openAtStripe(
  deps: CreateCheckoutDeps,
  stripe: StripeGateway,
  reserved: CheckoutRecord,
  leaseOwner: string,
  body: PayableBody,
  app: AppRecord,
): Promise<CreatedCheckout> {
  let record = reserved;
  let spent = false;
  try {
    await refuseConflictsWithSubscription(deps, record);
    let attempt = await attemptAtStripe(stripe, record, body, app);
    // Stripe no longer has the customer this reservation was going to use.
    const customerGone = "failure" in attempt && isResourceMissing(attempt.failure, "customer");
    if (customerGone && record.stripeCustomerId) {
      record = await withoutCustomer(deps, record, leaseOwner);
      attempt = await attemptAtStripe(stripe, record, body, app);
    }
    if ("session" in attempt) return await recordSession(deps, record, attempt.session);
    spent = spentIdempotencyKey(attempt.failure);
    throw toStripeApiError(attempt.failure, record.livemode, CREATE_CHECKOUT_SESSION);
  } catch (err) {
    const error = toStripeApiError(err, record.livemode);
    if (error.code === "bad_request" || error.code === "conflict") {
      await refuseReservation(
        deps.db,
        record,
        leaseOwner,
        { code: error.code, message: error.message },
        deps.now(),
      );
    } else {
      // Best effort: if D1 is failing too, the lease simply runs out. After a 5xx Stripe
      // answered (and saved under the key) the retry goes out under a new key, else it would
      // meet that saved 5xx for a day.
      const renewal = spent ? renewedReservation(deps) : null;
      await releaseLease(deps.db, record.id, leaseOwner, renewal).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * A double click or a second tab must not buy twice: a subscription checkout for a tenant that
 * already has a running subscription of the app and mode is refused, naming it. Checked by the
 * lease holder, so the state is freed with the refusal kept; the subscription this very
 * reservation made (a retry after its answer was lost) is no reason to refuse. A checkout paid
 * in the last day whose subscription no Stripe event has brought in yet counts as running: the
 * completion may come first. After a day without its events it no longer blocks (they are lost;
 * the tenant is not locked out for good).
 */
const AWAITING_EVENTS_SECONDS = 86_400;

/*
 * And a payment checkout whose reverse charge contradicts the tenant's running subscription is
 * refused: once paid, it would set the customer's tax treatment (which the subscription's
 * invoices print) to the opposite of what that subscription was bought with.
 */
async function refuseConflictsWithSubscription(deps: CreateCheckoutDeps, record: CheckoutRecord) {
  if (record.mode === "setup" || !record.tenantId) return;
  const key = { appId: record.appId, tenantId: record.tenantId, livemode: record.livemode };
  const mode = record.livemode ? "live" : "test";
  const current = await findCurrentSubscription(deps.db, key);
  if (current && current.checkoutId !== record.id) {
    if (record.mode === "subscription") {
      throw new ApiError("conflict", MESSAGES.subscriptionExists(current.id, current.status, mode));
    }
    if (current.reverseCharge !== null && current.reverseCharge !== record.reverseCharge) {
      throw new ApiError(
        "conflict",
        MESSAGES.reverseChargeContradicts(current.id, mode, record.reverseCharge),
      );
    }
  }
  if (current || record.mode !== "subscription") return;
  const since = deps.now() - AWAITING_EVENTS_SECONDS;
  const paid = await findSubscriptionAwaitingEvents(deps.db, key, since);
  if (paid && paid.checkoutId !== record.id) {
    throw new ApiError(
      "conflict",
      MESSAGES.subscriptionExists(paid.id, MESSAGES.subscriptionAwaitingEvents, mode),
    );
  }
}

/** Forgets the tenant's vanished customer and goes on without it (a setup checkout cannot). */
async function withoutCustomer(
  deps: CreateCheckoutDeps,
  record: CheckoutRecord,
  leaseOwner: string,
): Promise<CheckoutRecord> {
  if (record.tenantId && record.stripeCustomerId) {
    await forgetTenantCustomer(
      deps.db,
      { appId: record.appId, tenantId: record.tenantId, livemode: record.livemode },
      record.stripeCustomerId,
    );
  }
  if (record.mode === "setup") {
    throw new ApiError("conflict", MESSAGES.setupCustomerGone(record.livemode ? "live" : "test"));
  }
  const without = await dropReservationCustomer(deps.db, record, leaseOwner);
  if (!without) {
    throw new ApiError("stripe_unavailable", MESSAGES.stateBusy, {
      headers: { "Retry-After": "1" },
    });
  }
  return without;
}

async function recordSession(
  deps: CreateCheckoutDeps,
  record: CheckoutRecord,
  session: CreatedSession,
): Promise<CreatedCheckout> {
  const now = deps.now();
  const opened = { stripeSessionId: session.id, stripeUrl: session.url };
  const recorded = await markCheckoutOpen(deps.db, record, opened, now);
  if (recorded.opened) {
    return {
      checkout: toCheckoutView(
        { ...record, ...opened, status: "open", updatedAt: now },
        deps.config,
        now,
      ),
      superseded: recorded.superseded,
    };
  }
  // The webhook (or a request that took over) recorded the session first: answer with the row.
  const current = await findCheckoutByState(
    deps.db,
    record.appId,
    record.livemode,
    record.stateDigest,
  );
  if (!current || current.status === "pending") throw new ApiError("internal", MESSAGES.internal);
  return { checkout: settledView(deps, current), superseded: [] };
}
