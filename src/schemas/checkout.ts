import * as z from "zod";
import { STRIPE_ALLOWED_COUNTRIES } from "./countries.ts";

/** A checkout's hash: 32 URL-safe characters (24 random bytes, base64url). */
export const CHECKOUT_HASH_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/** 64 characters that are safe in a query string without encoding. */
export const STATE_PATTERN = /^[A-Za-z0-9\-_.~]{64}$/;

/** The longest quantity Stripe Checkout takes for a line item. */
export const MAX_QUANTITY = 999_999;

/** Builds error texts that name the field and say what it must be. */
const expect = (field: string, what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `${field} is required` : `${field} must be ${what}`,
});

export const createCheckoutBodySchema = z.strictObject(
  {
    price: z
      .string(expect("price", "a Stripe price id (price_…)"))
      .regex(/^price_[A-Za-z0-9_]{1,250}$/, "price must be a Stripe price id (price_…)"),
    quantity: z
      .int(expect("quantity", `a whole number from 1 to ${MAX_QUANTITY}`))
      .min(1, `quantity must be a whole number from 1 to ${MAX_QUANTITY}`)
      .max(MAX_QUANTITY, `quantity must be a whole number from 1 to ${MAX_QUANTITY}`),
    taxRate: z
      .string(expect("taxRate", "a Stripe tax rate id (txr_…)"))
      .regex(/^txr_[A-Za-z0-9_]{1,250}$/, "taxRate must be a Stripe tax rate id (txr_…)"),
    allowedCountry: z.enum(
      STRIPE_ALLOWED_COUNTRIES,
      expect(
        "allowedCountry",
        "an ISO 3166-1 alpha-2 country code in capitals that Stripe accepts, e.g. DE",
      ),
    ),
    paymentMethodType: z.enum(
      ["card", "sepa", "sofort"],
      expect("paymentMethodType", "one of card, sepa, sofort"),
    ),
    billingAddressCollection: z.boolean(expect("billingAddressCollection", "true or false")),
    mode: z.enum(
      ["payment", "subscription", "setup"],
      expect("mode", "one of payment, subscription, setup"),
    ),
    isReverseCharge: z.boolean(expect("isReverseCharge", "true or false")),
    test: z.boolean(expect("test", "true or false")).optional().default(false),
    state: z
      .string(expect("state", "a string of exactly 64 characters from A-Z a-z 0-9 - _ . ~"))
      .regex(STATE_PATTERN, "state must be exactly 64 characters from A-Z a-z 0-9 - _ . ~"),
  },
  {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        return `Unknown field${issue.keys.length > 1 ? "s" : ""} in body: ${issue.keys.join(", ")}`;
      }
      return "Request body must be a JSON object";
    },
  },
);

export type CreateCheckoutBody = z.output<typeof createCheckoutBodySchema>;

/** A tenant id in its one canonical form (lower case), however the caller wrote it. */
export const tenantParamSchema = z.object({
  tenantId: z.uuid("tenantId in the path must be a UUID").transform((value) => value.toLowerCase()),
});
