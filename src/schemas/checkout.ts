import * as z from "zod";
import { STRIPE_ALLOWED_COUNTRIES } from "./countries.ts";

/** A checkout's hash: 32 URL-safe characters (24 random bytes, base64url). */
export const CHECKOUT_HASH_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** 64 characters that are safe in a query string without encoding. */
export const STATE_PATTERN = /^[A-Za-z0-9\-_.~]{64}$/;

/** The longest quantity Stripe Checkout takes for a line item. */
const MAX_QUANTITY = 999_999;

/** Builds error texts that name the field and say what it must be. */
const expect = (field: string, what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `${field} is required` : `${field} must be ${what}`,
});

export const createCheckoutBodySchema = z
  .strictObject(
    {
      price: z
        .string(expect("price", "a Stripe price id (price_…)"))
        .regex(/^price_[A-Za-z0-9_]{1,250}$/, "price must be a Stripe price id (price_…)")
        .meta({
          description:
            "The Stripe price id (price_…); validated but not sent to Stripe in setup mode",
        }),
      quantity: z
        .int(expect("quantity", `a whole number from 1 to ${MAX_QUANTITY}`))
        .min(1, `quantity must be a whole number from 1 to ${MAX_QUANTITY}`)
        .max(MAX_QUANTITY, `quantity must be a whole number from 1 to ${MAX_QUANTITY}`)
        .meta({
          description: `The quantity of the price, 1 to ${MAX_QUANTITY}; validated but not sent in setup mode`,
        }),
      taxRate: z
        .string(expect("taxRate", "a Stripe tax rate id (txr_…)"))
        .regex(/^txr_[A-Za-z0-9_]{1,250}$/, "taxRate must be a Stripe tax rate id (txr_…)")
        .meta({
          description:
            "The Stripe tax rate id (txr_…) applied to the line item; for reverse charge the 0 % rate; validated but not sent in setup mode",
        }),
      allowedCountry: z
        .enum(
          STRIPE_ALLOWED_COUNTRIES,
          expect(
            "allowedCountry",
            "an ISO 3166-1 alpha-2 country code in capitals that Stripe accepts, e.g. DE",
          ),
        )
        .meta({
          description:
            "ISO 3166-1 alpha-2 code, upper case, of the only country allowed for the customer's shipping address (payment and subscription mode); recorded",
        }),
      paymentMethodType: z
        .enum(["card", "sepa", "sofort"], expect("paymentMethodType", "one of card, sepa, sofort"))
        .meta({
          description:
            "card or sepa (sent as sepa_debit). sofort is answered 400: Stripe discontinued SOFORT on 2025-03-31",
        }),
      billingAddressCollection: z
        .boolean(expect("billingAddressCollection", "true or false"))
        .meta({
          description:
            "true: Stripe requires the billing address (required); false: only when needed (auto)",
        }),
      mode: z
        .enum(
          ["payment", "subscription", "setup"],
          expect("mode", "one of payment, subscription, setup"),
        )
        .meta({
          description:
            "payment (one-time, with an invoice), subscription, or setup (saves a payment method; needs the tenant's Stripe customer from an earlier completed checkout, else 409)",
        }),
      isReverseCharge: z.boolean(expect("isReverseCharge", "true or false")).meta({
        description:
          "EU reverse charge: collects the buyer's VAT id, marks the customer tax-exempt (reverse) and puts a reverse-charge note on the invoice",
      }),
      test: z.boolean(expect("test", "true or false")).optional().default(false).meta({
        description:
          "true: Stripe test mode; false (the default): live mode, which the app must be enabled for",
      }),
      state: z
        .string(expect("state", "a string of exactly 64 characters from A-Z a-z 0-9 - _ . ~"))
        .regex(STATE_PATTERN, "state must be exactly 64 characters from A-Z a-z 0-9 - _ . ~")
        .meta({
          description:
            "Exactly 64 characters from A-Z a-z 0-9 - _ . ~, chosen by the caller and random. The same state again returns the same checkout; with other parameters it is 409. Never sent to Stripe; only its SHA-256 is stored",
        }),
    },
    {
      error: (issue) => {
        if (issue.code === "unrecognized_keys") {
          return `Unknown field${issue.keys.length > 1 ? "s" : ""} in body: ${issue.keys.join(", ")}`;
        }
        return "Request body must be a JSON object";
      },
    },
  )
  .meta({
    description:
      "A checkout session to create. Every field is required except test; unknown fields are an error.",
  });

export type CreateCheckoutBody = z.output<typeof createCheckoutBodySchema>;

/** A tenant id in its one canonical form (lower case), however the caller wrote it. */
export const tenantParamSchema = z.object({
  tenantId: z
    .uuid("tenantId in the path must be a UUID")
    .transform((value) => value.toLowerCase())
    .meta({ description: "The tenant the checkout is for (a UUID)" }),
});
