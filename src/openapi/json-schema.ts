import * as z from "zod";
import { createCheckoutBodySchema, MAX_QUANTITY, tenantParamSchema } from "../schemas/checkout.ts";
import { apiDocs } from "../schemas/docs.ts";
import { sessionIdParamSchema } from "../schemas/params.ts";
import type { JsonSchema, ParameterObject } from "./types.ts";

/**
 * How every schema of the document is made from zod: as zod reads input (`io: "input"`), so
 * `test` is optional with its default, and response objects do not forbid fields that a later
 * version may add (the type assertions in src/schemas/responses.ts keep them complete). The
 * descriptions come from `apiDocs`, a registry that validation never reads.
 */
export const JSON_SCHEMA_OPTIONS = {
  target: "draft-2020-12",
  io: "input",
  metadata: apiDocs,
} as const satisfies z.core.ToJSONSchemaParams;

const body = createCheckoutBodySchema.shape;
const describe = (schema: z.ZodType, description: string) => apiDocs.add(schema, { description });

// The request schemas are the ones the routes validate with; only their descriptions are added.
describe(
  createCheckoutBodySchema,
  "A checkout session to create. Every field is required except test; unknown fields are an error.",
);
describe(
  body.price,
  "The Stripe price id (price_…); validated but not sent to Stripe in setup mode",
);
describe(
  body.quantity,
  `The quantity of the price, 1 to ${MAX_QUANTITY}; validated but not sent in setup mode`,
);
describe(
  body.taxRate,
  "The Stripe tax rate id (txr_…) applied to the line item; for reverse charge the 0 % rate; validated but not sent in setup mode",
);
describe(
  body.allowedCountry,
  "ISO 3166-1 alpha-2 code, upper case, of the only country allowed for the customer's shipping address (payment and subscription mode); recorded",
);
describe(
  body.paymentMethodType,
  "card or sepa (sent as sepa_debit). sofort is answered 400: Stripe discontinued SOFORT on 2025-03-31",
);
describe(
  body.billingAddressCollection,
  "true: Stripe requires the billing address (required); false: only when needed (auto)",
);
describe(
  body.mode,
  "payment (one-time, with an invoice), subscription, or setup (saves a payment method; needs the tenant's Stripe customer from an earlier completed checkout, else 409)",
);
describe(
  body.isReverseCharge,
  "EU reverse charge: collects the buyer's VAT id, marks the customer tax-exempt (reverse) and puts a reverse-charge note on the invoice",
);
describe(
  body.test,
  "true: Stripe test mode; false (the default): live mode, which the app must be enabled for",
);
describe(
  body.state,
  "Exactly 64 characters from A-Z a-z 0-9 - _ . ~, chosen by the caller and random. The same state again returns the same checkout; with other parameters it is 409. Never sent to Stripe; only its SHA-256 is stored",
);
describe(tenantParamSchema.shape.tenantId, "The tenant the checkout is for (a UUID)");
describe(
  sessionIdParamSchema.shape.id,
  "The Stripe Checkout Session id that the create route returned as data.checkout.id",
);

/** One path parameter per property of a zod object that a route validates its path with. */
export function pathParameters(schema: z.ZodObject): ParameterObject[] {
  const json = z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema & {
    properties: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties).map(([name, property]) => ({
    name,
    in: "path",
    description: String(property.description ?? ""),
    required: true,
    schema: property,
  }));
}

export function jsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as JsonSchema;
}
