import type { OutboundEventType } from "../schemas/outbound.ts";
import type { OutboundEvent } from "../schemas/outbound-views.ts";

/*
 * The events of the examples, each as the service POSTs it to an endpoint, and the signatures
 * of their first attempts. The same made-up app and tenant as webhook-examples.ts.
 */

const APP = "3f6c2a1e-8b4d-4c7a-9e2f-1a5b7c9d0e3f";
const TENANT = "0b7e5f2c-4c1a-4d6e-9f3b-2a8c7d1e5f60";
export const EVENT_ID = "evt_54384a08e4a9ae905749791f5b72617d";

/* The events, each as the service POSTs it (the keys in the order it writes them). */

type ObjectOf<K extends OutboundEvent["object"]["kind"]> = Extract<
  OutboundEvent["object"],
  { kind: K }
>;

const event = (
  id: string,
  type: OutboundEventType,
  createdAt: string,
  object: OutboundEvent["object"],
  tenantId: string | null = TENANT,
): OutboundEvent => ({ id, type, createdAt, appId: APP, tenantId, livemode: false, object });

const checkout: ObjectOf<"checkout"> = {
  kind: "checkout",
  id: "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ",
  hash: "h7Qx2Lp9Vb4Nc8Zr1Tw6Ys3Km5Jd0Fg_",
  status: "complete",
  paymentStatus: "unpaid",
  mode: "payment",
  customerId: "cus_QfH2mZp8VtL3xk",
  subscriptionId: null,
  paymentIntentId: "pi_3QfH2m8VtL3xkC1f",
  refund: null,
  createdAt: "2026-11-25T10:15:35.000Z",
  expiresAt: "2026-11-25T11:15:35.000Z",
  completedAt: "2026-11-25T10:19:47.000Z",
  updatedAt: "2026-11-25T10:19:47.000Z",
  sequence: 41,
};

const subscription: ObjectOf<"subscription"> = {
  kind: "subscription",
  id: "sub_1QfH2n8VtL3xkA9d",
  status: "active",
  customerId: "cus_QfH2mZp8VtL3xk",
  price: "price_eur_monthly",
  quantity: 3,
  currentPeriodStart: "2026-11-25T10:19:47.000Z",
  currentPeriodEnd: "2026-12-25T10:19:47.000Z",
  cancelAtPeriodEnd: false,
  cancelAt: null,
  billingMode: "flexible",
  canceledAt: null,
  endedAt: null,
  trialEnd: null,
  duplicateOf: null,
  updatedAt: "2026-11-25T10:20:03.000Z",
  sequence: 44,
};

const invoice: ObjectOf<"invoice"> = {
  kind: "invoice",
  id: "in_1QfH2p8VtL3xkB7e",
  status: "paid",
  subscriptionId: "sub_1QfH2n8VtL3xkA9d",
  customerId: "cus_QfH2mZp8VtL3xk",
  currency: "eur",
  amountDue: 5700,
  amountPaid: 5700,
  amountRemaining: 0,
  attemptCount: 1,
  hostedInvoiceUrl: "https://invoice.stripe.com/i/acct_1Q/test_YWNjdF8x",
  invoicePdf: "https://pay.stripe.com/invoice/acct_1Q/test_YWNjdF8x/pdf",
  periodStart: "2026-11-25T10:19:47.000Z",
  periodEnd: "2026-12-25T10:19:47.000Z",
  paidAt: "2026-11-25T10:19:51.000Z",
  createdAt: "2026-11-25T10:19:47.000Z",
  updatedAt: "2026-11-25T10:20:04.000Z",
  sequence: 45,
};

/** One example per event type: its summary and the event. */
export const OUTBOUND_EVENT_EXAMPLES: Record<OutboundEventType, [string, OutboundEvent]> = {
  "checkout.completed": [
    "A checkout paid by SEPA Direct Debit was completed; the debit is not through yet",
    event(EVENT_ID, "checkout.completed", "2026-11-25T10:19:47.412Z", checkout),
  ],
  "checkout.payment_succeeded": [
    "The debit of that checkout went through, two days later",
    event(
      "evt_a23575c67e62f59e93d7717a1f26747d",
      "checkout.payment_succeeded",
      "2026-11-27T08:02:11.730Z",
      { ...checkout, paymentStatus: "paid", updatedAt: "2026-11-27T08:02:11.000Z", sequence: 57 },
    ),
  ],
  "checkout.payment_failed": [
    "The debit of that checkout failed instead",
    event(
      "evt_81eec2082a3ceb114dee12e77dbd04e5",
      "checkout.payment_failed",
      "2026-11-27T08:02:11.730Z",
      {
        ...checkout,
        paymentStatus: "failed",
        updatedAt: "2026-11-27T08:02:11.000Z",
        sequence: 57,
      },
    ),
  ],
  "checkout.expired": [
    "A checkout without a tenant that nobody paid in time",
    event(
      "evt_cb5cf086aa7ea95db7add32a357d2dd2",
      "checkout.expired",
      "2026-11-25T12:15:40.118Z",
      {
        ...checkout,
        id: "cs_test_b9Y8x7W6v5U4t3S2r1Q0pOnMlKjIhGfEdCbA",
        hash: "Kd3Lm8Qp1Rs6Tv0Wx4Yz9Ab2Cd7Ef5Gh",
        status: "expired",
        paymentStatus: null,
        customerId: null,
        paymentIntentId: null,
        createdAt: "2026-11-25T11:15:02.000Z",
        expiresAt: "2026-11-25T12:15:02.000Z",
        completedAt: null,
        updatedAt: "2026-11-25T12:15:40.000Z",
        sequence: 48,
      },
      null,
    ),
  ],
  "payment.refunded": [
    "Part of that payment was refunded at Stripe",
    event("evt_0d78d2d97ed1fd0b62af25ecd2a07ba4", "payment.refunded", "2026-11-28T16:40:09.256Z", {
      ...checkout,
      paymentStatus: "partially_refunded",
      refund: { amount: 1900, currency: "eur" },
      updatedAt: "2026-11-28T16:40:09.000Z",
      sequence: 61,
    }),
  ],
  "payment.refund_failed": [
    "That refund failed at Stripe (the card account was closed): the amount is the merchant's again",
    event(
      "evt_6f1d0c3b9a8e7d6c5b4a39281706f5e4",
      "payment.refund_failed",
      "2026-12-03T07:55:41.602Z",
      {
        ...checkout,
        paymentStatus: "paid",
        refund: { amount: 0, currency: "eur" },
        updatedAt: "2026-12-03T07:55:41.000Z",
        sequence: 70,
      },
    ),
  ],
  "subscription.created": [
    "The tenant's new monthly subscription",
    event(
      "evt_3c416cc662bede7f8a81356e9fd42e53",
      "subscription.created",
      "2026-11-25T10:20:03.518Z",
      subscription,
    ),
  ],
  "subscription.updated": [
    "The tenant chose to cancel at the end of the period",
    event(
      "evt_d055d0ee5b9711029a6ba0a685427dff",
      "subscription.updated",
      "2026-12-01T09:12:27.904Z",
      {
        ...subscription,
        cancelAtPeriodEnd: true,
        cancelAt: "2026-12-25T10:19:47.000Z",
        canceledAt: "2026-12-01T09:12:26.000Z",
        updatedAt: "2026-12-01T09:12:27.000Z",
        sequence: 66,
      },
    ),
  ],
  "subscription.canceled": [
    "The subscription ended at its period's end",
    event(
      "evt_0ad92db8650f581040fc4627e92ef19b",
      "subscription.canceled",
      "2026-12-25T10:19:52.377Z",
      {
        ...subscription,
        status: "canceled",
        cancelAtPeriodEnd: true,
        cancelAt: "2026-12-25T10:19:47.000Z",
        canceledAt: "2026-12-01T09:12:26.000Z",
        endedAt: "2026-12-25T10:19:47.000Z",
        updatedAt: "2026-12-25T10:19:52.000Z",
        sequence: 81,
      },
    ),
  ],
  "invoice.paid": [
    "The subscription's first invoice was paid",
    event(
      "evt_8a9625d83478bad71f1c4217315b6df7",
      "invoice.paid",
      "2026-11-25T10:20:04.091Z",
      invoice,
    ),
  ],
  "invoice.payment_failed": [
    "A renewal invoice's first payment attempt failed",
    event(
      "evt_0642b6a511ae83d5c3bf311a5f735b48",
      "invoice.payment_failed",
      "2026-12-25T10:21:13.640Z",
      {
        ...invoice,
        id: "in_1QhK5s8VtL3xkD2g",
        status: "open",
        amountPaid: 0,
        amountRemaining: 5700,
        hostedInvoiceUrl: "https://invoice.stripe.com/i/acct_1Q/test_YWNjdF8y",
        invoicePdf: "https://pay.stripe.com/invoice/acct_1Q/test_YWNjdF8y/pdf",
        periodStart: "2026-12-25T10:19:47.000Z",
        periodEnd: "2027-01-25T10:19:47.000Z",
        paidAt: null,
        createdAt: "2026-12-25T10:19:47.000Z",
        updatedAt: "2026-12-25T10:21:13.000Z",
        sequence: 82,
      },
    ),
  ],
};

/**
 * The headers of each event example's first attempt (a second after the event): signed with
 * EXAMPLE_SIGNING_SECRET over the example's JSON.stringify, as the service signs the body it
 * sends. The worker tests sign the examples again with the service's own code and compare.
 */
export const EXAMPLE_SIGNATURES: Record<
  OutboundEventType,
  { timestamp: number; signature: string }
> = {
  "checkout.completed": {
    timestamp: 1795601988,
    signature: "v1,qrCBymxarhOPZ56ad6ya45+YMw7HPP5UiEVy7W8pNzE=",
  },
  "checkout.payment_succeeded": {
    timestamp: 1795766532,
    signature: "v1,Sr+AIHclKQNP6NfSGCDopGNHp+Qk7t9BGfd/Fq3byyw=",
  },
  "checkout.payment_failed": {
    timestamp: 1795766532,
    signature: "v1,4tYieFO+zSnkvz2/YgmiHK5ZD+zt/5eSHdvaUu0pvxA=",
  },
  "checkout.expired": {
    timestamp: 1795608941,
    signature: "v1,ox3L7dx33Kluz4Rq75N4kbJNije7a2hqToJeDPfSvDw=",
  },
  "payment.refund_failed": {
    timestamp: 1796284542,
    signature: "v1,bIXCu2pLF38O8WVNMNnty/TFN1qrgVMIDA7NSf/yXb4=",
  },
  "payment.refunded": {
    timestamp: 1795884010,
    signature: "v1,fEeWgBeYqfzlNDfSOb+oC17RM+ogMSmvglJvJ5BfQOo=",
  },
  "subscription.created": {
    timestamp: 1795602004,
    signature: "v1,fSorKwcW+0bSI2+EazEsmrC8TUoK4Phw9zGy1tDl7ZI=",
  },
  "subscription.updated": {
    timestamp: 1796116348,
    signature: "v1,l47MpbbwXHSYajSy9AK2xfRCB5NTAZgG14aOmOiyelg=",
  },
  "subscription.canceled": {
    timestamp: 1798193993,
    signature: "v1,Dv4uGyk30MtMRI2x+Ie99oOCssqomrgXGp7Zs2kS6Fw=",
  },
  "invoice.paid": {
    timestamp: 1795602005,
    signature: "v1,SxpOCAUhD18Oy4HZqgukdTnHC8H8KwuPzDQINrw33UY=",
  },
  "invoice.payment_failed": {
    timestamp: 1798194074,
    signature: "v1,OhdecrKkzyEnUr2eZfV6gh0A/tSMeZU79Ro4aesUIKg=",
  },
};
