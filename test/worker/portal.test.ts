import Stripe from "stripe";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AppRecord } from "../../src/apps/records.ts";
import { isPortalNotConfigured } from "../../src/stripe/errors.ts";
import { givenApp, givenKey } from "./helpers/apps.ts";
import { deliverAll, paidSubscription } from "./helpers/billing.ts";
import { postJson } from "./helpers/http.ts";
import { expectDocumentedFailure } from "./helpers/openapi.ts";
import { stripe } from "./helpers/stripe.ts";
import { givenTokenApp, type KeyPair, newKeyPair, signToken } from "./helpers/tokens.ts";

/** Issue 14, item 5: POST /api/v1/tenants/:tenantId/portal-sessions. */

const RETURN_URL = "https://app.example.test/account";
let keys: KeyPair;
beforeAll(async () => {
  keys = await newKeyPair();
});

const portal = (tenantId: string, body: unknown, headers: Record<string, string>) =>
  postJson(`/api/v1/tenants/${tenantId}/portal-sessions`, body, headers);

async function tenantWithSubscription(overrides: Partial<AppRecord> = {}) {
  const app = await givenTokenApp(keys, { portalReturnUrl: RETURN_URL, ...overrides });
  const writer = await givenKey(app.id, "write");
  const paid = await paidSubscription(writer.headers);
  stripe.requests.length = 0;
  return { app, writer, ...paid };
}

const portalCreates = () =>
  stripe.requests.filter((r) => r.method === "POST" && r.path === "/v1/billing_portal/sessions");

describe("POST /api/v1/tenants/:tenantId/portal-sessions", () => {
  // The operator saved the portal's test-mode settings, without which Stripe opens no portal.
  beforeEach(() => {
    stripe.savePortalConfiguration(false);
  });

  it("opens Stripe's portal for the tenant's customer, back to the app's portalReturnUrl", async () => {
    const { writer, tenantId, subscriptionId } = await tenantWithSubscription();
    const res = await portal(tenantId, { test: true }, writer.headers);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      message: "Portal session created",
      data: {
        portal: {
          url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\/p\/session\/bps_/),
          expiresAt: null,
        },
      },
    });
    const customer = stripe.billing.subscriptions.get(subscriptionId)?.customer;
    expect(portalCreates()[0]?.form).toEqual({ customer, return_url: RETURN_URL });
  });

  it.each([
    ["payment_method_update", undefined, { "flow_data[type]": "payment_method_update" }],
    ["subscription_cancel", "current", { "flow_data[type]": "subscription_cancel" }],
    ["subscription_update", "named", { "flow_data[type]": "subscription_update" }],
  ] as const)("opens it at the flow %s", async (flow, which, sent) => {
    const { writer, tenantId, subscriptionId } = await tenantWithSubscription();
    const body = { test: true, flow, ...(which === "named" ? { subscriptionId } : {}) };
    expect((await portal(tenantId, body, writer.headers)).status).toBe(200);
    const form = portalCreates()[0]?.form ?? {};
    expect(form).toMatchObject(sent);
    if (which) expect(form[`flow_data[${flow}][subscription]`]).toBe(subscriptionId);
  });

  it("takes a token of that tenant, and refuses read keys and tokens of another tenant", async () => {
    const { app, tenantId } = await tenantWithSubscription();
    const token = (claims: Record<string, unknown>) =>
      signToken(keys, app, claims).then((t) => ({ Authorization: `Bearer ${t}` }));
    expect((await portal(tenantId, { test: true }, await token({ tenantId }))).status).toBe(200);
    const other = await portal(
      tenantId,
      { test: true },
      await token({ tenantId: crypto.randomUUID() }),
    );
    expect(other.status).toBe(403);
    const reader = await portal(tenantId, { test: true }, (await givenKey(app.id, "read")).headers);
    expect(reader.status).toBe(403);
    expect(reader.body.error).toBe("A read API key may not do this; use a write API key");
  });

  it("answers 409 for a tenant without a customer, and 403 for an app without a return URL", async () => {
    const app = await givenApp({ portalReturnUrl: RETURN_URL });
    const writer = await givenKey(app.id, "write");
    const none = await portal(crypto.randomUUID(), { test: true }, writer.headers);
    expect(none.status).toBe(409);
    expect(none.body.error).toBe(
      "This tenant has no Stripe customer in test mode yet; the portal opens after its first completed checkout",
    );
    const { writer: noUrl, tenantId } = await tenantWithSubscription({ portalReturnUrl: null });
    const refused = await portal(tenantId, { test: true }, noUrl.headers);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe(
      "This app has no portal return URL configured; the operator must set it first (app update --portal-return-url)",
    );
    expect(portalCreates()).toEqual([]);
  });

  it("answers a subscription flow without a current subscription with 409, and another tenant's with 404", async () => {
    const { writer, tenantId, subscriptionId } = await tenantWithSubscription();
    const someoneElse = await paidSubscription(writer.headers);
    const foreign = await portal(
      tenantId,
      { test: true, flow: "subscription_cancel", subscriptionId: someoneElse.subscriptionId },
      writer.headers,
    );
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toBe("No subscription with this id for this tenant");
    await deliverAll(stripe.billing.cancel(subscriptionId));
    const ended = await portal(
      tenantId,
      { test: true, flow: "subscription_update" },
      writer.headers,
    );
    expect(ended.status).toBe(409);
    expect(ended.body.error).toBe(
      "This tenant has no current subscription in test mode to cancel or change",
    );
    // The payment method can still be updated.
    expect(
      (await portal(tenantId, { test: true, flow: "payment_method_update" }, writer.headers))
        .status,
    ).toBe(200);
  });

  it.each([
    [
      { test: true, flow: "subscription_pause" },
      "flow must be one of payment_method_update, subscription_cancel, subscription_update",
    ],
    [{ test: true, returnUrl: "https://evil.example" }, "Unknown field in body: returnUrl"],
    [
      { test: true, subscriptionId: "si_1" },
      "subscriptionId must be a Stripe subscription id (sub_…)",
    ],
  ])("refuses a bad body with 400 (%o)", async (body, error) => {
    const { writer, tenantId } = await tenantWithSubscription();
    const res = await portal(tenantId, body, writer.headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(error);
    expect(portalCreates()).toEqual([]);
  });

  it("maps Stripe failing as the create route does", async () => {
    const { writer, tenantId } = await tenantWithSubscription();
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    const res = await portal(tenantId, { test: true }, writer.headers);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("Stripe is unavailable; retry the same request later");
    // The SDK's second attempt carried the first one's key.
    const [first, second] = portalCreates();
    expect(second?.headers["idempotency-key"]).toBe(first?.headers["idempotency-key"]);
  });

  it("refuses live mode for an app not enabled for it", async () => {
    const { writer, tenantId } = await tenantWithSubscription();
    const res = await portal(tenantId, {}, writer.headers);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/^Live mode is not enabled for this app/);
  });
});

describe("a portal whose settings were never saved at Stripe (issue 19, B10)", () => {
  const ROUTE = "/api/v1/tenants/{tenantId}/portal-sessions";

  it("answers Stripe's refusal with 409, telling the operator to save the portal settings of that mode", async () => {
    const { writer, tenantId } = await tenantWithSubscription();
    const res = await portal(tenantId, { test: true }, writer.headers);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      success: false,
      message: null,
      data: null,
      error:
        "The customer portal is not set up in test mode: the operator must save the customer portal settings in the Stripe Dashboard (test mode) of the platform's Stripe account, then retry",
    });
    await expectDocumentedFailure("post", ROUTE, res);
    // Stripe's refusal is no failure to retry: one request, and nothing of Stripe's text echoed.
    expect(portalCreates()).toHaveLength(1);
    expect(JSON.stringify(res.body)).not.toMatch(/dashboard\.stripe\.com|can’t|bpc_/);
    // Once the operator has saved them, the same request opens the portal.
    stripe.savePortalConfiguration(false);
    expect((await portal(tenantId, { test: true }, writer.headers)).status).toBe(200);
  });

  it("names the app's connected account, whose settings are its own", async () => {
    const account = "acct_1PortalNotSet";
    const { writer, tenantId } = await tenantWithSubscription({ stripeAccountTest: account });
    stripe.savePortalConfiguration(false); // the platform's own settings open no connected portal
    const res = await portal(tenantId, { test: true }, writer.headers);
    expect(res.status).toBe(409);
    expect(res.body.error).toBe(
      "The customer portal is not set up in test mode: the operator must save the customer portal settings in the Stripe Dashboard (test mode) of the app's connected account acct_1PortalNotSet, then retry",
    );
    expect(portalCreates().map((r) => r.headers["stripe-account"])).toEqual([account]);
    stripe.savePortalConfiguration(false, account);
    expect((await portal(tenantId, { test: true }, writer.headers)).status).toBe(200);
  });

  it("leaves Stripe's other refusals as they were: 400 in Stripe's words", async () => {
    const { writer, tenantId, subscriptionId } = await tenantWithSubscription();
    stripe.savePortalConfiguration(false);
    const customer = stripe.billing.subscriptions.get(subscriptionId)?.customer ?? "";
    stripe.deleteCustomer(customer);
    const res = await portal(tenantId, { test: true }, writer.headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      `Stripe refused the billing portal session: No such customer: '${customer}'`,
    );
  });

  // Stripe's older wording (the double's) and its newer one, both seen in the wild
  // (docs/stripe-double.md); anything else of Stripe's is not this refusal.
  const refusal = (
    message: string,
    statusCode = 400,
    type: "invalid_request_error" | "api_error" = "invalid_request_error",
  ) => Stripe.errors.StripeError.generate({ message, type, statusCode });
  it.each([
    "You can’t create a portal session in live mode until you save your customer portal settings in live mode at https://dashboard.stripe.com/settings/billing/portal.",
    "You can't create a portal session in test mode until you save your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.",
    "No configuration provided and your test mode default configuration has not been created. Provide a configuration or create your default by saving your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.",
  ])("recognises Stripe's refusal in its words: %s", (message) => {
    expect(isPortalNotConfigured(refusal(message))).toBe(true);
  });

  it("recognises nothing else as that refusal", () => {
    const words =
      "You can’t create a portal session in test mode until you save your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.";
    expect(isPortalNotConfigured(refusal("No such customer: 'cus_1'"))).toBe(false);
    expect(isPortalNotConfigured(refusal(words, 500, "api_error"))).toBe(false);
    expect(isPortalNotConfigured(refusal(words, 404))).toBe(false);
    expect(isPortalNotConfigured(new Error(words))).toBe(false);
  });
});
