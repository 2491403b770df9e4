import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { billingOf, deliverAll, paidSubscription, subscriptionRow } from "./helpers/billing.ts";
import { call, postJson, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";
import { givenTokenApp, type KeyPair, newKeyPair, signToken } from "./helpers/tokens.ts";

/** Issue 14, items 4 and 6: GET …/billing with every credential kind, and no second subscription. */

let keys: KeyPair;
beforeAll(async () => {
  keys = await newKeyPair();
});

const bearer = async (
  app: Parameters<typeof signToken>[1],
  claims: Record<string, unknown> = {},
) => ({
  Authorization: `Bearer ${await signToken(keys, app, claims)}`,
});

describe("GET /api/v1/tenants/:tenantId/billing", () => {
  it("answers read keys, write keys and a token of that tenant alike", async () => {
    const app = await givenTokenApp(keys);
    const writer = await givenKey(app.id, "write");
    const { tenantId, subscriptionId } = await paidSubscription(writer.headers);
    const answers = [
      await billingOf((await givenKey(app.id, "read")).headers, tenantId),
      await billingOf(writer.headers, tenantId),
      await billingOf(await bearer(app, { tenantId }), tenantId),
      await billingOf(
        await bearer(app, { tenantId: tenantId.toUpperCase() }),
        tenantId.toUpperCase(),
      ),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.message).toBe("Billing state found");
      expect(answer.billing?.subscriptions.map((s) => s.id)).toEqual([subscriptionId]);
    }
    expect(answers[0]?.response.headers.get("Cache-Control")).toBe("no-store");
  });

  it.each([
    ["a token of another tenant", { tenantId: crypto.randomUUID() }],
    ["a token without a tenant", {}],
  ])("refuses %s with 403", async (_what, claims) => {
    const app = await givenTokenApp(keys);
    const res = await billingOf(await bearer(app, claims), crypto.randomUUID());
    expect(res.status).toBe(403);
    expect(res.body.error).toBe(
      "This access token is not for this tenant (its tenantId claim); a token may only use its own tenant's billing",
    );
  });

  it("answers a tenant with nothing, and another app's tenant, with the empty state (not 404)", async () => {
    const mine = await givenWriter();
    const other = await givenWriter();
    const { tenantId } = await paidSubscription(other.headers);
    for (const id of [tenantId, crypto.randomUUID()]) {
      const res = await billingOf(mine.headers, id);
      expect(res.status).toBe(200);
      expect(res.billing).toEqual({
        tenantId: id,
        livemode: false,
        customerId: null,
        paidUntil: null,
        paymentFailed: false,
        subscriptions: [],
        invoices: [],
      });
    }
  });

  it("reads live mode unless test=true, and refuses anything else in the query", async () => {
    const { headers } = await givenWriter();
    const { tenantId } = await paidSubscription(headers);
    expect((await billingOf(headers, tenantId, "")).billing).toMatchObject({
      livemode: true,
      subscriptions: [],
    });
    expect((await billingOf(headers, tenantId, "?test=false")).billing?.livemode).toBe(true);
    expect((await billingOf(headers, tenantId, "?test=true")).billing?.subscriptions).toHaveLength(
      1,
    );
    const bad = await billingOf(headers, tenantId, "?test=yes");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("test must be true or false");
    expect((await billingOf(headers, tenantId, "?mode=test")).body.error).toBe(
      "Unknown query parameter: mode",
    );
    expect((await billingOf(headers, "not-a-uuid")).body.error).toBe(
      "tenantId in the path must be a UUID",
    );
  });

  it("lists at most the 12 latest invoices, newest first", async () => {
    const { headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    for (let i = 0; i < 12; i++) await deliverAll(stripe.billing.renew(subscriptionId, "paid"));
    const { billing } = await billingOf(headers, tenantId);
    expect(billing?.invoices).toHaveLength(12);
    const ends = billing?.invoices.map((i) => i.id) ?? [];
    expect(ends[0]).toBe(stripe.billing.subscriptions.get(subscriptionId)?.latest_invoice);
  });

  it("answers no credentials with 401", async () => {
    const res = await call(`/api/v1/tenants/${crypto.randomUUID()}/billing`);
    expect(res.status).toBe(401);
  });
});

describe("no second subscription", () => {
  const subscriptionBody = () =>
    validBody({ state: newState(), mode: "subscription", price: "price_eur_monthly" });

  it("answers a subscription checkout for a tenant with a running subscription with 409, naming it", async () => {
    const { headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    stripe.requests.length = 0;
    const path = `/api/v1/tenants/${tenantId}/checkout-sessions`;
    const second = await postJson(path, subscriptionBody(), headers);
    expect(second.status).toBe(409);
    expect(second.body.error).toBe(
      `This tenant already has a subscription of this app in test mode, ${subscriptionId} (active); change or cancel it in the customer portal (POST /api/v1/tenants/{tenantId}/portal-sessions) instead of buying a second one`,
    );
    expect(stripe.creates()).toEqual([]);
    // A one-time payment is still fine, and so is the next subscription once this one ended.
    expect((await postJson(path, validBody({ state: newState() }), headers)).status).toBe(200);
    await deliverAll(stripe.billing.cancel(subscriptionId));
    expect((await postJson(path, subscriptionBody(), headers)).status).toBe(200);
  });

  it("answers 409 as soon as the checkout is paid, before Stripe's subscription events arrive", async () => {
    const { headers } = await givenWriter();
    const { tenantId, subscriptionId, events } = await paidSubscription(headers, undefined, {
      deliverEvents: false,
    });
    // Only the checkout's completion has arrived; the subscription's own events are late.
    await deliverAll(events.filter((e) => e.type === "checkout.session.completed"));
    expect(await subscriptionRow(subscriptionId)).toBeNull();
    stripe.requests.length = 0;
    const second = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      subscriptionBody(),
      headers,
    );
    expect(second.status).toBe(409);
    expect(second.body.error).toBe(
      `This tenant already has a subscription of this app in test mode, ${subscriptionId} (paid at checkout, its events not yet received); change or cancel it in the customer portal (POST /api/v1/tenants/{tenantId}/portal-sessions) instead of buying a second one`,
    );
    expect(stripe.creates()).toEqual([]);
  });

  it("still answers the very request that made the subscription (a retry of its state) with its checkout", async () => {
    const { headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const path = `/api/v1/tenants/${tenantId}/checkout-sessions`;
    const body = subscriptionBody();
    const first = await postJson(path, body, headers);
    const { id } = (first.body.data as { checkout: { id: string } }).checkout;
    await deliverAll(stripe.completeSession(id));
    const again = await postJson(path, body, headers);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual({
      checkout: { ...(first.body.data as { checkout: object }).checkout, status: "complete" },
    });
  });

  it("counts past_due as running, and a subscription of another mode or tenant as not", async () => {
    const { headers } = await givenWriter({ liveEnabled: true });
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    await deliverAll(stripe.billing.renew(subscriptionId, "failed"));
    const path = `/api/v1/tenants/${tenantId}/checkout-sessions`;
    expect((await postJson(path, subscriptionBody(), headers)).status).toBe(409);
    const otherTenant = `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`;
    expect((await postJson(otherTenant, subscriptionBody(), headers)).status).toBe(200);
    const live = await postJson(path, { ...subscriptionBody(), test: false }, headers);
    expect(live.status, live.body.error ?? "").toBe(200);
  });

  it("counts trialing as running and paid for: paidUntil is the trial period's end", async () => {
    const { app, headers } = await givenWriter();
    const { tenantId, subscriptionId } = await paidSubscription(headers);
    // No checkout of ours starts a trial; Stripe can (a trial added in the dashboard).
    await env.DB.prepare("UPDATE subscriptions SET status = 'trialing' WHERE id = ?1")
      .bind(subscriptionId)
      .run();
    const { billing } = await billingOf((await givenKey(app.id, "read")).headers, tenantId);
    expect(billing?.subscriptions[0]?.status).toBe("trialing");
    expect(billing?.paidUntil).toBe(billing?.subscriptions[0]?.currentPeriodEnd);
    const second = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      subscriptionBody(),
      headers,
    );
    expect(second.status).toBe(409);
    expect(second.body.error).toContain(`${subscriptionId} (trialing)`);
  });
});
