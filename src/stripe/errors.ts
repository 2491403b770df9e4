import Stripe from "stripe";
import { ApiError } from "../errors.ts";
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

/** What the service asked Stripe to do, in the words its errors use. */
export interface StripeOperation {
  /** The object of "Stripe refused …". */
  what: string;
  /** The verb phrase of "Stripe failed to …". */
  doing: string;
  /** What the caller can do after a failure that may pass. */
  retry: string;
  /** Stripe's parameter names as the fields of our request body, where the caller sent them. */
  fields?: Record<string, string>;
}

export const CREATE_CHECKOUT_SESSION: StripeOperation = {
  what: "the checkout session",
  doing: "create the checkout session",
  retry: "retry the same request (same state)",
  fields: FIELD_BY_STRIPE_PARAM,
};

export const MARK_CUSTOMER_REVERSE_CHARGE: StripeOperation = {
  what: "the update of the tenant's Stripe customer (tax_exempt=reverse)",
  doing: "update the tenant's Stripe customer (tax_exempt=reverse)",
  retry: "retry the same request (same state)",
};

/** Stripe answered that the object does not exist (a deleted customer, an unknown id). */
export function isResourceMissing(err: unknown, param?: string): boolean {
  return (
    err instanceof Stripe.errors.StripeError &&
    err.code === "resource_missing" &&
    (param === undefined || err.param === param)
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
  if (err instanceof MalformedStripeResponse) {
    return new ApiError("stripe_failed", `Stripe answered with ${err.expected}`, { cause: err });
  }
  if (!(err instanceof Stripe.errors.StripeError)) {
    return new ApiError("internal", "Internal error", { cause: err });
  }
  if (err instanceof Stripe.errors.StripeConnectionError) {
    const timedOut = (err.detail as { code?: string } | undefined)?.code === "ETIMEDOUT";
    return timedOut
      ? new ApiError("stripe_timeout", `Stripe did not answer in time; ${op.retry}`, { cause: err })
      : new ApiError("stripe_failed", `Could not reach Stripe; ${op.retry}`, { cause: err });
  }
  // A 409 is a request with this key still executing at Stripe: it will pass. (The SDK makes it
  // a StripeAPIError, not an idempotency error; only 400 and 404 carry that class.)
  if (err.statusCode === 409) {
    return new ApiError(
      "stripe_unavailable",
      `Another request for ${op.what} is still in progress at Stripe; retry shortly`,
      { cause: err, headers: { "Retry-After": "1" } },
    );
  }
  if (err instanceof Stripe.errors.StripeIdempotencyError) {
    // Every key is derived from the parameters it carries, so this is our fault, not the caller's.
    return new ApiError("internal", "Internal error", { cause: err });
  }
  if (err instanceof Stripe.errors.StripeAuthenticationError) {
    return new ApiError(
      "stripe_failed",
      `Stripe refused this service's ${mode}-mode API key; the operator must check it`,
      { cause: err },
    );
  }
  if (err instanceof Stripe.errors.StripePermissionError) {
    return new ApiError(
      "stripe_failed",
      `Stripe refused access to ${op.what} for this app's ${mode}-mode account; the operator must check the app's Stripe account`,
      { cause: err },
    );
  }
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    return new ApiError(
      "stripe_unavailable",
      "Stripe is rate limiting requests; retry in a few seconds",
      { cause: err, headers: { "Retry-After": "2" } },
    );
  }
  const status = err.statusCode ?? 0;
  if (status === 503) {
    return new ApiError("stripe_unavailable", `Stripe is unavailable; ${op.retry} later`, {
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
      `Stripe refused ${op.what}${field ? ` (${field})` : ""}: ${err.message || "invalid request"}`,
      { cause: err },
    );
  }
  return new ApiError("stripe_failed", `Stripe failed to ${op.doing}; ${op.retry}`, {
    cause: err,
  });
}
