import { describe, expect, it } from "vitest";
import { useDoubleServer } from "./helpers/double-server.ts";

/** The double's loopback server and its faults control route (docs/stripe-double.md). */
const double = useDoubleServer();

const faults = (method: string, body?: unknown) =>
  fetch(`${double.origin()}/__double/faults`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** An API call as the SDK makes it: form-encoded, with a test key. */
const createSession = (extra: Record<string, string> = {}) =>
  fetch(`${double.origin()}/v1/checkout/sessions`, {
    method: "POST",
    headers: {
      Authorization: "Bearer sk_test_control_route",
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      mode: "payment",
      success_url: "https://app.example.test/ok",
      cancel_url: "https://app.example.test/no",
      "line_items[0][price]": "price_eur_once",
      "line_items[0][quantity]": "1",
      expires_at: String(Math.floor(Date.now() / 1000) + 3600),
      ...extra,
    }),
  });

describe("the Stripe double's faults control route", () => {
  it("queues faults that the next API requests meet, in order, then answers normally", async () => {
    const queued = await faults("POST", {
      faults: [
        { kind: "status", status: 503 },
        { kind: "status", status: 500 },
      ],
    });
    expect(queued.status).toBe(200);
    expect(await queued.json()).toEqual({
      faults: [
        { kind: "status", status: 503 },
        { kind: "status", status: 500 },
      ],
    });
    expect((await createSession()).status).toBe(503);
    expect((await createSession()).status).toBe(500);
    const recovered = await createSession();
    expect(recovered.status).toBe(200);
    expect(((await recovered.json()) as { id: string }).id).toMatch(/^cs_test_/);
  });

  it("lists and clears the queue", async () => {
    await faults("POST", { faults: [{ kind: "delay", ms: 10 }, { kind: "network" }] });
    expect(await (await faults("GET")).json()).toEqual({
      faults: [{ kind: "delay", ms: 10 }, { kind: "network" }],
    });
    expect(await (await faults("DELETE")).json()).toEqual({ faults: [] });
    expect((await createSession()).status).toBe(200);
  });

  it.each([
    ["not JSON", "{"],
    ["an unknown kind", { faults: [{ kind: "meteor" }] }],
    ["a status that is no error", { faults: [{ kind: "status", status: 200 }] }],
    ["an unknown field", { faults: [{ kind: "network", extra: 1 }] }],
    ["no faults", { faults: [] }],
  ])("refuses %s with 400 and queues nothing", async (_what, body) => {
    const res = await fetch(`${double.origin()}/__double/faults`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(await (await faults("GET")).json()).toEqual({ faults: [] });
  });
});

describe("the Stripe double's billing control routes", () => {
  it("renews, cancels and lists a paid subscription, answering with the events it sent", async () => {
    const created = await createSession({
      mode: "subscription",
      "line_items[0][price]": "price_eur_monthly",
      "subscription_data[metadata][tenant_id]": "t-1",
      "subscription_data[metadata][checkout_hash]": "h-1",
    });
    const { id } = (await created.json()) as { id: string };
    // Paying at the hosted page (the worker is not running here: the events go nowhere).
    const paid = await fetch(`${double.origin()}/c/pay/${id}/pay`, {
      method: "POST",
      redirect: "manual",
    });
    expect(paid.status).toBe(303);
    const [subscription] = (await (
      await fetch(`${double.origin()}/__double/subscriptions`)
    ).json()) as {
      id: string;
      status: string;
      tenantId: string;
    }[];
    expect(subscription).toMatchObject({ status: "active", tenantId: "t-1", checkoutHash: "h-1" });

    const renew = await fetch(
      `${double.origin()}/__double/subscriptions/${subscription?.id}/renew?outcome=failed`,
      { method: "POST" },
    );
    expect(renew.status).toBe(200);
    const { events } = (await renew.json()) as { events: { type: string; status: number }[] };
    expect(events.map((e) => e.type)).toEqual([
      "invoice.created",
      "invoice.finalized",
      "invoice.payment_failed",
      "customer.subscription.updated",
    ]);
    // The harness's view of the invoices: the first one paid, the renewal's failed once.
    const invoices = (await (await fetch(`${double.origin()}/__double/invoices`)).json()) as {
      status: string;
      subscription: string;
      checkoutHash: string;
      attemptCount: number;
    }[];
    expect(invoices.map(({ status, attemptCount }) => ({ status, attemptCount }))).toEqual([
      { status: "paid", attemptCount: 1 },
      { status: "open", attemptCount: 1 },
    ]);
    expect(new Set(invoices.map((i) => `${i.subscription} ${i.checkoutHash}`))).toEqual(
      new Set([`${subscription?.id} h-1`]),
    );
    const shuffledRenewal = await fetch(
      `${double.origin()}/__double/subscriptions/${subscription?.id}/renew?outcome=paid&shuffle=true`,
      { method: "POST" },
    );
    const types = ((await shuffledRenewal.json()) as { events: { type: string }[] }).events.map(
      (e) => e.type,
    );
    expect([...types].sort()).toEqual(
      [
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
      ].sort(),
    );
    // A card payment never stays processing (only SEPA Debit does), and nothing is to settle.
    for (const move of ["renew?outcome=processing", "settle?outcome=paid"]) {
      const refused = await fetch(
        `${double.origin()}/__double/subscriptions/${subscription?.id}/${move}`,
        {
          method: "POST",
        },
      );
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /settles at once|no payment in processing/,
      );
    }
    const cancel = await fetch(
      `${double.origin()}/__double/subscriptions/${subscription?.id}/cancel`,
      {
        method: "POST",
      },
    );
    expect(((await cancel.json()) as { events: { type: string }[] }).events[0]?.type).toBe(
      "customer.subscription.deleted",
    );
    const bad = await fetch(
      `${double.origin()}/__double/subscriptions/${subscription?.id}/renew?outcome=maybe`,
      {
        method: "POST",
      },
    );
    expect(bad.status).toBe(400);
  });
});

describe("the Stripe double's portal configuration control route (issue 19, A5)", () => {
  const openPortal = (customer: string, key = "sk_test_control_route", account?: string) =>
    fetch(`${double.origin()}/v1/billing_portal/sessions`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${key}`,
        "Content-Type": "application/x-www-form-urlencoded",
        ...(account ? { "Stripe-Account": account } : {}),
      },
      body: new URLSearchParams({ customer, return_url: "https://app.example.test/account" }),
    });
  const save = (query: string, method = "POST") =>
    fetch(`${double.origin()}/__double/portal-configuration${query}`, { method });

  it("saves the portal's settings for a mode and account, as an operator does in the Dashboard", async () => {
    const created = await createSession({
      mode: "subscription",
      "line_items[0][price]": "price_eur_monthly",
      "subscription_data[metadata][tenant_id]": "t-portal",
    });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${double.origin()}/c/pay/${id}/pay`, { method: "POST", redirect: "manual" });
    const subscriptions = (await (
      await fetch(`${double.origin()}/__double/subscriptions`)
    ).json()) as { customer: string; tenantId: string }[];
    const customer = subscriptions.find((s) => s.tenantId === "t-portal")?.customer ?? "";

    const refused = await openPortal(customer);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: {
        type: "invalid_request_error",
        message:
          "You can’t create a portal session in test mode until you save your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.",
      },
    });

    // Another mode's or another account's settings do not open this one's portal.
    expect((await save("?livemode=true")).status).toBe(200);
    expect((await save("?livemode=false&account=acct_1Other")).status).toBe(200);
    expect((await openPortal(customer)).status).toBe(400);

    const saved = await save("?livemode=false");
    expect(saved.status).toBe(200);
    expect(await saved.json()).toEqual({
      saved: { livemode: false, account: null, configuration: expect.stringMatching(/^bpc_/) },
    });
    const opened = await openPortal(customer);
    expect(opened.status).toBe(200);
    expect(((await opened.json()) as { url: string }).url).toMatch(/\/p\/session\/bps_/);
  });

  it.each([
    ["no mode", ""],
    ["a mode that is neither true nor false", "?livemode=yes"],
    ["an account that is no acct_ id", "?livemode=false&account=cus_1"],
  ])("refuses %s with 400", async (_what, query) => {
    const res = await save(query);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/livemode|account/);
  });

  it("takes only POST", async () => {
    expect((await save("?livemode=false", "GET")).status).toBe(405);
  });
});
