import type { CreateCheckoutBody } from "./checkout.ts";

type ExampleBody = Omit<CreateCheckoutBody, "test"> & { test: boolean };

/**
 * The one valid create body that the API document, the tests, the bench and `npm run dev`
 * start from: a one-time card payment in test mode, with the ids of the local Stripe double.
 */
export function exampleCreateBody(
  state: string,
  overrides: Partial<ExampleBody> = {},
): ExampleBody {
  return {
    price: "price_eur_once",
    quantity: 1,
    taxRate: "txr_vat_de_19",
    allowedCountry: "DE",
    paymentMethodType: "card",
    billingAddressCollection: true,
    mode: "payment",
    isReverseCharge: false,
    test: true,
    state,
    ...overrides,
  };
}
