import { successEnvelope } from "../errors.ts";
import type { BillingView, PortalBody, PortalView } from "../schemas/billing.ts";

/** Examples of the billing operations; the ids are made up in the shapes Stripe uses. */

const TENANT = "0b7e5f2c-4c1a-4d6e-9f3b-2a8c7d1e5f60";

export const BILLING_EXAMPLE = {
  paying: {
    summary: "A tenant whose monthly subscription renewed",
    value: successEnvelope("Billing state found", {
      billing: {
        tenantId: TENANT,
        livemode: false,
        customerId: "cus_QfH2mZp8VtL3xk",
        paidUntil: "2026-12-25T10:19:47.000Z",
        paymentFailed: false,
        subscriptions: [
          {
            id: "sub_1QfH2n8VtL3xkA9d",
            status: "active",
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
            syncedAt: "2026-11-25T10:20:03.000Z",
          },
        ],
        invoices: [
          {
            id: "in_1QfH2p8VtL3xkB7e",
            status: "paid",
            subscriptionId: "sub_1QfH2n8VtL3xkA9d",
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
          },
        ],
      } satisfies BillingView,
    }),
  },
  nothing: {
    summary: "A tenant without any billing (or one of another app)",
    value: successEnvelope("Billing state found", {
      billing: {
        tenantId: TENANT,
        livemode: false,
        customerId: null,
        paidUntil: null,
        paymentFailed: false,
        subscriptions: [],
        invoices: [],
      } satisfies BillingView,
    }),
  },
};

export const PORTAL_BODY_EXAMPLES = {
  home: {
    summary: "The portal's home (test mode)",
    value: { test: true } satisfies Partial<PortalBody>,
  },
  newCard: {
    summary: "Straight to updating the payment method, after a failed renewal",
    value: { test: true, flow: "payment_method_update" } satisfies Partial<PortalBody>,
  },
  cancel: {
    summary: "Cancelling the tenant's current subscription",
    value: { test: true, flow: "subscription_cancel" } satisfies Partial<PortalBody>,
  },
};

export const PORTAL_EXAMPLE = {
  created: {
    summary: "A portal session",
    value: successEnvelope("Portal session created", {
      portal: {
        url: "https://billing.stripe.com/p/session/test_YWNjdF8xUWZIMm4",
        expiresAt: null,
      } satisfies PortalView,
    }),
  },
};
