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

/**
 * Translates what the Stripe SDK threw into our one error type. Stripe's own refusal of the
 * request (a price that does not exist, a currency SEPA does not take) is the caller's 400 and
 * keeps Stripe's sentence; Stripe failing, throttling or not answering is 502/503/504.
 */
export function toStripeApiError(err: unknown, livemode: boolean): ApiError {
  const mode = livemode ? "live" : "test";
  if (err instanceof MalformedStripeResponse) {
    return new ApiError(
      "stripe_failed",
      "Stripe answered with something that is not a checkout session",
      { cause: err },
    );
  }
  if (!(err instanceof Stripe.errors.StripeError)) {
    return new ApiError("internal", "Internal error", { cause: err });
  }
  if (err instanceof Stripe.errors.StripeConnectionError) {
    const timedOut = (err.detail as { code?: string } | undefined)?.code === "ETIMEDOUT";
    return timedOut
      ? new ApiError(
          "stripe_timeout",
          "Stripe did not answer in time; retry the same request (same state)",
          { cause: err },
        )
      : new ApiError(
          "stripe_failed",
          "Could not reach Stripe; retry the same request (same state)",
          { cause: err },
        );
  }
  if (err instanceof Stripe.errors.StripeIdempotencyError && err.statusCode === 409) {
    return new ApiError(
      "stripe_unavailable",
      "Another request with this state is still in progress at Stripe; retry shortly",
      { cause: err, headers: { "Retry-After": "1" } },
    );
  }
  if (err instanceof Stripe.errors.StripeIdempotencyError) {
    return new ApiError(
      "conflict",
      "Stripe saw this state with different parameters; use a new state",
      { cause: err },
    );
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
      `Stripe refused access for this app's ${mode}-mode account; the operator must check the app's Stripe account`,
      { cause: err },
    );
  }
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    return new ApiError(
      "stripe_unavailable",
      "Stripe is rate limiting requests; retry in a few seconds",
      {
        cause: err,
        headers: { "Retry-After": "2" },
      },
    );
  }
  const status = err.statusCode ?? 0;
  if (status === 503) {
    return new ApiError(
      "stripe_unavailable",
      "Stripe is unavailable; retry the same request (same state) later",
      { cause: err },
    );
  }
  if (status >= 400 && status < 500 && err.type === "StripeInvalidRequestError") {
    const field = err.param ? (FIELD_BY_STRIPE_PARAM[err.param] ?? err.param) : null;
    const reason = err.message || "invalid request";
    return new ApiError(
      "bad_request",
      `Stripe refused the checkout session${field ? ` (${field})` : ""}: ${reason}`,
      { cause: err },
    );
  }
  if (status >= 400 && status < 500) {
    return new ApiError(
      "bad_request",
      `Stripe refused the checkout session: ${err.message || "invalid request"}`,
      { cause: err },
    );
  }
  return new ApiError(
    "stripe_failed",
    "Stripe failed to create the checkout session; retry the same request (same state)",
    { cause: err },
  );
}
