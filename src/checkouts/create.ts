import { sha256Hex } from "../apps/keys.ts";
import type { AppRecord } from "../apps/records.ts";
import {
  type CheckoutRecord,
  deletePendingCheckout,
  findCheckoutByState,
  findTenantCustomer,
  markCheckoutOpen,
  reserveCheckout,
} from "../db/checkouts.ts";
import type { Config } from "../env.ts";
import { ApiError } from "../errors.ts";
import type { CreateCheckoutBody } from "../schemas/checkout.ts";
import type { StripeGateway } from "../stripe/client.ts";
import { toStripeApiError } from "../stripe/errors.ts";
import { buildCheckoutSessionParams } from "../stripe/params.ts";
import { newCheckoutHash } from "./hash.ts";
import { type CheckoutView, toCheckoutView } from "./view.ts";

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
  body: CreateCheckoutBody;
}

export const SOFORT_DISCONTINUED =
  "paymentMethodType sofort is no longer available: Stripe discontinued SOFORT on 2025-03-31. Use card or sepa instead";

/** What identifies "the same request" for one state: every field except state itself. */
async function fingerprint(tenantId: string | null, body: CreateCheckoutBody): Promise<string> {
  const { state: _state, test: _test, ...rest } = body;
  const ordered = Object.fromEntries(
    Object.entries({ ...rest, tenantId }).sort(([a], [b]) => a.localeCompare(b)),
  );
  return sha256Hex(JSON.stringify(ordered));
}

/**
 * Creates (or, for a repeated state, returns) one checkout. The state is reserved in D1 before
 * Stripe is called, so concurrent duplicates meet at the unique index; the Stripe call carries
 * an Idempotency-Key derived from (app, mode, state, parameters), so a retry after any failure
 * reaches the same Stripe session instead of a second one.
 */
export async function createCheckout(
  deps: CreateCheckoutDeps,
  input: CreateCheckoutInput,
  attempt = 0,
): Promise<CheckoutView> {
  const { app, tenantId, body } = input;
  if (body.paymentMethodType === "sofort") throw new ApiError("bad_request", SOFORT_DISCONTINUED);
  const paymentMethodType = body.paymentMethodType;

  const livemode = !body.test;
  if (livemode && !app.liveEnabled) {
    throw new ApiError(
      "forbidden",
      'Live mode is not enabled for this app; send "test": true or ask the operator to enable live mode',
    );
  }
  if (livemode && !deps.config.PUBLIC_BASE_URL.startsWith("https://")) {
    throw new ApiError(
      "internal",
      "Service misconfigured: the variable PUBLIC_BASE_URL must be https for live checkouts",
    );
  }
  if (!app.successUrl || !app.cancelUrl) {
    throw new ApiError(
      "forbidden",
      "This app has no success and cancel URL configured; the operator must set them first",
    );
  }
  const stripe = deps.stripeFor(livemode);

  const stateDigest = await sha256Hex(body.state);
  const requestFingerprint = await fingerprint(tenantId, body);
  // The tenant's customer is needed before reserving: a setup checkout without one is refused.
  const customerId = tenantId
    ? await findTenantCustomer(deps.db, app.id, tenantId, livemode)
    : null;
  if (body.mode === "setup" && !customerId) {
    throw new ApiError(
      "conflict",
      `A setup checkout needs the tenant's Stripe customer from an earlier completed checkout in ${livemode ? "live" : "test"} mode, and ${tenantId ? "this tenant has none yet" : "this request names no tenant"}`,
    );
  }
  const now = deps.now();
  // One round trip on the common path: the insert returns our row, or nothing when the state
  // is taken (a repeat, or a concurrent duplicate), and only then is the existing row read.
  const reserved = await reserveCheckout(deps.db, {
    id: crypto.randomUUID(),
    hash: newCheckoutHash(),
    appId: app.id,
    tenantId,
    livemode,
    stateDigest,
    requestFingerprint,
    stripeAccount: (livemode ? app.stripeAccountLive : app.stripeAccountTest) ?? null,
    stripeCustomerId: customerId,
    mode: body.mode,
    price: body.price,
    quantity: body.quantity,
    taxRate: body.taxRate,
    allowedCountry: body.allowedCountry,
    paymentMethod: paymentMethodType,
    billingAddressCollection: body.billingAddressCollection,
    reverseCharge: body.isReverseCharge,
    createdAt: now,
    expiresAt: now + deps.config.CHECKOUT_EXPIRES_MINUTES * 60,
  });
  const reservedHere = reserved !== null;
  let record = reserved ?? (await findCheckoutByState(deps.db, app.id, livemode, stateDigest));
  if (!record) throw new ApiError("internal", "Internal error");

  if (record.requestFingerprint !== requestFingerprint) {
    throw new ApiError(
      "conflict",
      "This state was already used with different parameters; use a new state for a new checkout",
    );
  }
  if (record.status !== "pending") return toCheckoutView(record, deps.config);

  if (!reservedHere) {
    // Another request holds this state right now: let it finish rather than call Stripe too.
    const settled = await awaitConcurrentAttempt(deps, record);
    if (settled === null) {
      // It was refused by Stripe and freed the state; try once more to get that refusal ourselves.
      if (attempt > 0)
        throw new ApiError("conflict", "A concurrent request with this state failed; retry");
      return createCheckout(deps, input, attempt + 1);
    }
    if (settled.status !== "pending") return toCheckoutView(settled, deps.config);
    record = settled;
  }
  return openAtStripe(deps, stripe, record, { ...body, paymentMethodType }, app);
}

/**
 * Waits, with backoff, for the request that reserved a state to record its outcome. Returns the
 * row once it left `pending`, null if it was deleted (Stripe refused), or the still-pending row
 * when the owner had time for all its Stripe attempts and more: then it is presumed gone (a
 * crash, a lost write) and the caller recovers it with the same Idempotency-Key. A row already
 * older than that window is returned at once.
 */
async function awaitConcurrentAttempt(
  deps: CreateCheckoutDeps,
  pending: CheckoutRecord,
): Promise<CheckoutRecord | null> {
  const { STRIPE_TIMEOUT_MS, STRIPE_MAX_NETWORK_RETRIES } = deps.config;
  const windowMs = STRIPE_TIMEOUT_MS * (STRIPE_MAX_NETWORK_RETRIES + 1) + 2_000;
  const deadline = pending.updatedAt * 1000 + windowMs;
  let delayMs = 20;
  let current: CheckoutRecord | null = pending;
  while (current?.status === "pending" && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 1.5, 250);
    current = await findCheckoutByState(
      deps.db,
      pending.appId,
      pending.livemode,
      pending.stateDigest,
    );
  }
  return current;
}

async function openAtStripe(
  deps: CreateCheckoutDeps,
  stripe: StripeGateway,
  record: CheckoutRecord,
  body: CreateCheckoutBody & { paymentMethodType: "card" | "sepa" },
  app: AppRecord,
): Promise<CheckoutView> {
  const idempotencyKey = `checkout-edge-${await sha256Hex(
    [
      record.appId,
      record.livemode ? "live" : "test",
      record.stateDigest,
      record.requestFingerprint,
    ].join("|"),
  )}`;
  const requestOptions = { idempotencyKey, stripeAccount: record.stripeAccount };
  const params = buildCheckoutSessionParams(body, {
    appId: record.appId,
    tenantId: record.tenantId,
    hash: record.hash,
    expiresAt: record.expiresAt,
    successUrl: app.successUrl ?? "",
    cancelUrl: app.cancelUrl ?? "",
    customerId: record.stripeCustomerId,
  });

  let session: { id: string; url: string };
  try {
    if (record.reverseCharge && record.stripeCustomerId && record.mode !== "setup") {
      await stripe.markCustomerReverseCharge(record.stripeCustomerId, {
        ...requestOptions,
        idempotencyKey: `${idempotencyKey}-customer`,
      });
    }
    session = await stripe.createCheckoutSession(params, requestOptions);
  } catch (err) {
    const apiError = toStripeApiError(err, record.livemode);
    // Stripe refused: no session exists, so free the state. Any other failure may have created
    // one, so the pending row stays and a retry with the same state reaches the same session.
    if (apiError.status === 400 || apiError.status === 409)
      await deletePendingCheckout(deps.db, record.id);
    throw apiError;
  }

  const now = deps.now();
  if (
    await markCheckoutOpen(
      deps.db,
      record.id,
      { stripeSessionId: session.id, stripeUrl: session.url },
      now,
    )
  ) {
    return toCheckoutView(
      {
        ...record,
        status: "open",
        stripeSessionId: session.id,
        stripeUrl: session.url,
        updatedAt: now,
      },
      deps.config,
    );
  }
  // A concurrent duplicate recorded the session first; answer with exactly what it recorded.
  const current = await findCheckoutByState(
    deps.db,
    record.appId,
    record.livemode,
    record.stateDigest,
  );
  if (!current || current.status === "pending") throw new ApiError("internal", "Internal error");
  return toCheckoutView(current, deps.config);
}
