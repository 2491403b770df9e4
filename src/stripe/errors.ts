import Stripe from "stripe";
import { ApiError } from "../errors.ts";
import { MESSAGES, type StripeOperation as Operation, STRIPE_OPERATIONS } from "../messages.ts";
import { MalformedStripeResponse } from "./client.ts";

/** Stripe's parameter names mapped back to the fields of our request body. */
const FIELD_BY_STRIPE_PARAM: Record<string, string> = {
  "line_items[0][price]": "price",
  "line_items[0][quantity]": "quantity",
  "line_items[0][tax_rates][0]": "taxRate",
  "line_items[0][tax_rates]": "taxRate",
  "shipping_address_collection[allowed_countries][0]": "allowedCountry",
  "allowed_payment_method_types[0]": "paymentMethodType",
  allowed_payment_method_types: "paymentMethodType",
  mode: "mode",
};

/** An operation, and where the caller sent the parameters: Stripe's names as our body's fields. */
export interface StripeOperation extends Operation {
  fields?: Record<string, string>;
}

/** Creating a session: Stripe's refusals name the field of our body that caused them. */
export const CREATE_CHECKOUT_SESSION: StripeOperation = {
  ...STRIPE_OPERATIONS.createCheckoutSession,
  fields: FIELD_BY_STRIPE_PARAM,
};

/** Setting a customer's tax treatment, by the value set. */
export const UPDATE_CUSTOMER_TAX_EXEMPT: Record<"reverse" | "none", StripeOperation> = {
  reverse: STRIPE_OPERATIONS.markCustomerReverseCharge,
  none: STRIPE_OPERATIONS.markCustomerNotExempt,
};

/** Stripe answered that the object does not exist (a deleted customer, an unknown id). */
export function isResourceMissing(err: unknown, param?: string): boolean {
  return (
    err instanceof Stripe.errors.StripeError &&
    err.code === "resource_missing" &&
    (param === undefined || err.param === param)
  );
}

/** Stripe refused the request itself (a 400 or 404 of its invalid-request kind): retrying is no use. */
export function isStripeRefusal(err: unknown): boolean {
  return err instanceof Stripe.errors.StripeInvalidRequestError;
}

/**
 * Stripe answered with a 5xx: it may have begun executing, and then it saved that answer under
 * the Idempotency-Key and gives it to every retry with the key for 24 hours. A timeout or a
 * dropped connection is no answer: the retry with the key reaches what Stripe did.
 */
export function spentIdempotencyKey(err: unknown): boolean {
  return (
    err instanceof Stripe.errors.StripeError &&
    !(err instanceof Stripe.errors.StripeConnectionError) &&
    (err.statusCode ?? 0) >= 500
  );
}

/**
 * Stripe failing or not answering: a 5xx, a 429 (its rate limiter asking us to slow down), a
 * timeout or a dropped connection, after the SDK's own retries. The next call of the same run
 * would most likely meet the same, each waiting for its timeout.
 */
export function isStripeOutage(err: unknown): boolean {
  if (err instanceof Stripe.errors.StripeConnectionError) return true;
  if (!(err instanceof Stripe.errors.StripeError)) return false;
  const status = err.statusCode ?? 0;
  return status >= 500 || status === 429;
}

/**
 * Stripe refusing a portal session because the customer portal's settings were never saved in
 * this mode and account (docs/decisions.md, "Portal sessions"). Stripe gives the refusal no code
 * or param, so it is known by all it does give: status 400, type invalid_request_error, and its
 * words, in each wording Stripe has used ("…until you save your customer portal settings…",
 * "…or create your default by saving your customer portal settings…").
 */
export function isPortalNotConfigured(err: unknown): boolean {
  return (
    err instanceof Stripe.errors.StripeInvalidRequestError &&
    err.statusCode === 400 &&
    err.rawType === "invalid_request_error" &&
    /\bsav(e|ing) your customer portal settings\b/i.test(err.message)
  );
}

/**
 * Translates what the Stripe SDK threw into our one error type. Stripe's own refusal of the
 * request (a price that does not exist, a currency SEPA does not take) is the caller's 400 and
 * keeps Stripe's sentence; Stripe failing, throttling or not answering is 502/503/504. Every
 * text names the operation that failed.
 */
export function toStripeApiError(
  err: unknown,
  livemode: boolean,
  op: StripeOperation = CREATE_CHECKOUT_SESSION,
): ApiError {
  const mode = livemode ? "live" : "test";
  // Already ours (a Stripe key missing from the configuration): it names what is wrong.
  if (err instanceof ApiError) return err;
  if (err instanceof MalformedStripeResponse) {
    return new ApiError("stripe_failed", MESSAGES.stripeMalformed(err.expected), { cause: err });
  }
  if (!(err instanceof Stripe.errors.StripeError)) {
    return new ApiError("internal", MESSAGES.internal, { cause: err });
  }
  if (err instanceof Stripe.errors.StripeConnectionError) {
    const timedOut = (err.detail as { code?: string } | undefined)?.code === "ETIMEDOUT";
    return timedOut
      ? new ApiError("stripe_timeout", MESSAGES.stripeTimeout(op.retry), { cause: err })
      : new ApiError("stripe_failed", MESSAGES.stripeUnreachable(op.retry), { cause: err });
  }
  // A 409 is a request with this key still executing at Stripe: it will pass. (The SDK makes it
  // a StripeAPIError, not an idempotency error; only 400 and 404 carry that class.)
  if (err.statusCode === 409) {
    return new ApiError("stripe_unavailable", MESSAGES.stripeInFlight(op.what), {
      cause: err,
      headers: { "Retry-After": "1" },
    });
  }
  if (err instanceof Stripe.errors.StripeIdempotencyError) {
    // Every key is derived from the parameters it carries, so this is our fault, not the caller's.
    return new ApiError("internal", MESSAGES.internal, { cause: err });
  }
  if (err instanceof Stripe.errors.StripeAuthenticationError) {
    return new ApiError("stripe_failed", MESSAGES.stripeKeyRefused(mode), { cause: err });
  }
  if (err instanceof Stripe.errors.StripePermissionError) {
    return new ApiError("stripe_failed", MESSAGES.stripeAccountRefused(op.what, mode), {
      cause: err,
    });
  }
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    return new ApiError("stripe_unavailable", MESSAGES.stripeRateLimited, {
      cause: err,
      headers: { "Retry-After": "2" },
    });
  }
  const status = err.statusCode ?? 0;
  if (status === 503) {
    return new ApiError("stripe_unavailable", MESSAGES.stripeUnavailable(op.retry), {
      cause: err,
    });
  }
  if (status >= 400 && status < 500) {
    const field =
      op.fields && err.type === "StripeInvalidRequestError" && err.param
        ? (op.fields[err.param] ?? err.param)
        : null;
    return new ApiError(
      "bad_request",
      MESSAGES.stripeRefused(op.what, field, err.message || "invalid request"),
      { cause: err },
    );
  }
  return new ApiError("stripe_failed", MESSAGES.stripeFailed(op.doing, op.retry), {
    cause: err,
  });
}
