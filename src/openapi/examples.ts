import { successEnvelope } from "../errors.ts";
import type { CreateCheckoutBody } from "../schemas/checkout.ts";
import { exampleCreateBody } from "../schemas/example-body.ts";
import type { CheckoutDetails, CheckoutView } from "../schemas/responses.ts";
import type { ExampleObject } from "./types.ts";

/*
 * Examples of the document. The ids are those of the local Stripe double (`npm run dev`), so
 * each example works as it is against a local service; with real Stripe use your own ids.
 */

type ExampleBody = Omit<CreateCheckoutBody, "test"> & { test?: boolean };

const example = <T>(summary: string, description: string, value: T) => ({
  summary,
  description,
  value,
});

/** The request bodies of the create routes: one per mode. */
export const CREATE_CHECKOUT_EXAMPLES = {
  payment: example<ExampleBody>(
    "One-time payment by card (test mode)",
    "A one-time payment: one line item with VAT, the billing address required, an invoice created.",
    exampleCreateBody("pay-7Jc2QxV0nWm4Rk8ZsT1bYhL6uE3dFg9A.oPiNq5MtXvB0aC2eK7rS4wD8y~z"),
  ),
  subscription: example<ExampleBody>(
    "Monthly subscription by SEPA Direct Debit, EU reverse charge (test mode)",
    "A subscription to a recurring price for a business customer in another EU country: the buyer's VAT id is collected and the invoices say 'Reverse charge'.",
    {
      price: "price_eur_monthly",
      quantity: 3,
      taxRate: "txr_reverse_charge_0",
      allowedCountry: "AT",
      paymentMethodType: "sepa",
      billingAddressCollection: true,
      mode: "subscription",
      isReverseCharge: true,
      test: true,
      state: "sub-Q2w8Er5Ty1Ui7Op3As9Df4Gh0Jk6Lz2Xc8Vb5Nm1Qa7Ws3Ed9Rf4Tg0Yh6Uk",
    },
  ),
  setup: example<ExampleBody>(
    "Save a card for later (setup mode, test mode)",
    "Saves a payment method for the tenant's Stripe customer, known from an earlier completed checkout in the same mode (without one: 409). price, quantity, taxRate and allowedCountry are validated and recorded but not sent to Stripe.",
    {
      price: "price_eur_monthly",
      quantity: 1,
      taxRate: "txr_vat_de_19",
      allowedCountry: "DE",
      paymentMethodType: "card",
      billingAddressCollection: false,
      mode: "setup",
      isReverseCharge: false,
      test: true,
      state: "set-M3n7Bv1Cx5Zl9Kj2Hg6Fd0Sa4Pq8Wo3Ei7Ru1Ty5Yt9Ui2Op6As0Df4Gh8Jx",
    },
  ),
} satisfies Record<string, ExampleObject>;

const CHECKOUT_ID = "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ";
const HASH = "h7Qx2Lp9Vb4Nc8Zr1Tw6Ys3Km5Jd0Fg_";
const PAGE = `https://pay.example.com/checkout/${HASH}`;

export const CREATED_EXAMPLE = {
  created: example(
    "Created",
    "The new checkout. The same request again (same state) answers exactly the same.",
    successEnvelope("Checkout session created", {
      checkout: {
        id: CHECKOUT_ID,
        hash: HASH,
        nextAction: { url: PAGE },
        status: "open",
        mode: "payment",
        livemode: false,
        tenantId: "0b7e5f2c-4c1a-4d6e-9f3b-2a8c7d1e5f60",
        expiresAt: "2026-11-25T11:15:35.000Z",
      } satisfies CheckoutView,
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const FOUND_EXAMPLE = {
  open: example(
    "Open",
    "Created and not paid yet; nextAction is the payment page.",
    successEnvelope("Checkout session found", {
      checkout: {
        id: CHECKOUT_ID,
        hash: HASH,
        status: "open",
        paymentStatus: "unpaid",
        mode: "payment",
        livemode: false,
        tenantId: null,
        createdAt: "2026-11-25T10:15:35.000Z",
        expiresAt: "2026-11-25T11:15:35.000Z",
        openedAt: "2026-11-25T10:16:02.000Z",
        completedAt: null,
        nextAction: { url: PAGE },
        refund: null,
        customerTaxExempt: null,
      } satisfies CheckoutDetails,
    }),
  ),
  complete: example(
    "Paid",
    "Completed and paid; there is nothing left to do, so nextAction is null.",
    successEnvelope("Checkout session found", {
      checkout: {
        id: CHECKOUT_ID,
        hash: HASH,
        status: "complete",
        paymentStatus: "paid",
        mode: "subscription",
        livemode: true,
        tenantId: "0b7e5f2c-4c1a-4d6e-9f3b-2a8c7d1e5f60",
        createdAt: "2026-11-25T10:15:35.000Z",
        expiresAt: "2026-11-25T11:15:35.000Z",
        openedAt: "2026-11-25T10:16:02.000Z",
        completedAt: "2026-11-25T10:19:47.000Z",
        nextAction: null,
        refund: null,
        customerTaxExempt: null,
      } satisfies CheckoutDetails,
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const WEBHOOK_EVENT_EXAMPLE = {
  completed: example(
    "checkout.session.completed (abridged)",
    "Stripe's event as Stripe sends it; the worker verifies the raw bytes, so send them unchanged.",
    {
      id: "evt_1QxYzAbCdEfGhIjKlMnOpQrS",
      object: "event",
      type: "checkout.session.completed",
      livemode: false,
      created: 1795605587,
      account: null,
      data: {
        object: {
          id: CHECKOUT_ID,
          object: "checkout.session",
          status: "complete",
          payment_status: "paid",
          customer: "cus_RaBcDeFgHiJkLm",
          metadata: { checkout_hash: HASH },
        },
      },
    },
  ),
} satisfies Record<string, ExampleObject>;

export const WEBHOOK_RESPONSE_EXAMPLES = {
  applied: example(
    "Applied",
    "The event changed the checkout's record.",
    successEnvelope("Event processed", {
      received: true,
      eventId: "evt_1QxYzAbCdEfGhIjKlMnOpQrS",
      outcome: "applied",
    }),
  ),
  duplicate: example(
    "Replayed",
    "This event id was processed before; nothing changed.",
    successEnvelope("Event already processed", {
      received: true,
      eventId: "evt_1QxYzAbCdEfGhIjKlMnOpQrS",
      outcome: "duplicate",
    }),
  ),
  ignored: example(
    "Ignored",
    "An event type this service does not handle.",
    successEnvelope("Event type ignored", {
      received: true,
      eventId: "evt_1QxYzAbCdEfGhIjKlMnOpQrT",
      outcome: "ignored",
    }),
  ),
} satisfies Record<string, ExampleObject>;

export const HEALTH_EXAMPLE = {
  ok: example("Healthy", "D1 and KV answered.", successEnvelope("ok", { status: "ok" })),
} satisfies Record<string, ExampleObject>;
