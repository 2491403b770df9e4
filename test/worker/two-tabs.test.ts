import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { billingOf, deliverAll, runCron } from "./helpers/billing.ts";
import { postJson, validBody } from "./helpers/http.ts";
import { eventsOfApp } from "./helpers/outbound.ts";
import { eventually } from "./helpers/receivers.ts";
import { stripe } from "./helpers/stripe.ts";

/**
 * Issue 19, B2: never two running subscriptions from two tabs. Two open subscription checkouts
 * of one tenant could both be paid: two subscriptions, charged every period. The newest
 * checkout wins (the earlier open ones are expired at Stripe), a completion expires the others
 * too, and a second subscription that Stripe still makes in a race is shown, logged and told.
 */

interface Tab {
  id: string;
  hash: string;
  state: string;
}

async function openTab(headers: Record<string, string>, tenantId: string): Promise<Tab> {
  const state = newState();
  const res = await postJson(
    `/api/v1/tenants/${tenantId}/checkout-sessions`,
    validBody({ state, mode: "subscription", price: "price_eur_monthly" }),
    headers,
  );
  if (res.status !== 200) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  const { id, hash } = (res.body.data as { checkout: Tab }).checkout;
  return { id, hash, state };
}

const expireCalls = (sessionId: string) =>
  stripe.requests.filter(
    (r) => r.method === "POST" && r.path === `/v1/checkout/sessions/${sessionId}/expire`,
  );

async function rowStatus(sessionId: string) {
  return (
    await env.DB.prepare("SELECT status FROM checkout_sessions WHERE stripe_session_id = ?1")
      .bind(sessionId)
      .first<{ status: string }>()
  )?.status;
}

async function openPage(tab: Tab) {
  const response = await exports.default.fetch(
    new Request(`https://pay.example.test/checkout/${tab.hash}?state=${tab.state}`, {
      redirect: "manual",
    }),
  );
  return { status: response.status, text: await response.text() };
}

describe("two open subscription checkouts of one tenant", () => {
  it("the newer expires the earlier one at Stripe, whose payment page says it was replaced", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const first = await openTab(headers, tenantId);
    // The first page still leads to Stripe until another checkout replaces it.
    expect((await openPage(first)).status).toBe(303);
    const second = await openTab(headers, tenantId);
    // At once, before Stripe confirms: the replaced page never sends anyone to Stripe again.
    const replaced = await openPage(first);
    expect(replaced.status).toBe(410);
    expect(replaced.text).toContain(
      "Another checkout replaced this one, so that nothing is bought twice.",
    );
    await eventually(async () => (await rowStatus(first.id)) === "expired");
    expect(expireCalls(first.id)).toHaveLength(1);
    expect(stripe.sessions.get(first.id)?.status).toBe("expired");
    expect(stripe.sessions.get(second.id)?.status).toBe("open");
    expect((await openPage(second)).status).toBe(303);
    const types = (await eventsOfApp(app.id)).map((e) => `${e.type} ${JSON.parse(e.object).id}`);
    expect(types).toEqual([`checkout.expired ${first.id}`]);
    // Stripe's own checkout.session.expired for it changes nothing more.
    const caused = stripe.takeEmittedEvents();
    expect(caused.map((e) => [e.type, (e.data.object as { id: string }).id])).toEqual([
      ["checkout.session.expired", first.id],
    ]);
    await deliverAll(caused);
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.expired"]);
  });

  it("leaves checkouts of other tenants, modes and kinds alone", async () => {
    const { headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const subscription = await openTab(headers, tenantId);
    const other = await openTab(headers, crypto.randomUUID());
    const oneTime = await postJson(
      `/api/v1/tenants/${tenantId}/checkout-sessions`,
      validBody({ state: newState() }),
      headers,
    );
    expect(oneTime.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stripe.requests.filter((r) => r.path.endsWith("/expire"))).toEqual([]);
    expect(await rowStatus(subscription.id)).toBe("open");
    expect(await rowStatus(other.id)).toBe("open");
  });

  it("a completion expires the tenant's other open subscription checkouts that Stripe did not expire yet", async () => {
    const { headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const first = await openTab(headers, tenantId);
    // Stripe is down when the second tab replaces the first: the first stays open there.
    // (The create goes through: the faults are for the expiry's two SDK attempts after it.)
    stripe.fail(
      { kind: "delay", ms: 0 },
      { kind: "status", status: 503 },
      { kind: "status", status: 503 },
    );
    const second = await openTab(headers, tenantId);
    await eventually(() => expireCalls(first.id).length === 2);
    expect(stripe.sessions.get(first.id)?.status).toBe("open");
    await deliverAll(stripe.completeSession(second.id));
    await eventually(() => stripe.sessions.get(first.id)?.status === "expired");
    await eventually(async () => (await rowStatus(first.id)) === "expired");
  });

  it("a completion while the other tab's create is still at Stripe replaces that one too", async () => {
    const { headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const first = await openTab(headers, tenantId);
    const firstEvents = stripe.completeSession(first.id); // the person pays the first tab
    // The second tab's create takes a while at Stripe; the first's completion comes meanwhile.
    stripe.fail({ kind: "delay", ms: 400 });
    const secondTab = openTab(headers, tenantId);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await deliverAll(firstEvents);
    const second = await secondTab;
    // Never payable: its page says replaced, and Stripe is asked to expire it.
    const page = await openPage(second);
    expect(page.status).toBe(410);
    expect(page.text).toContain("Another checkout replaced this one");
    await eventually(() => stripe.sessions.get(second.id)?.status === "expired");
    await eventually(async () => (await rowStatus(second.id)) === "expired");
  });

  it("the cron asks Stripe again to expire a replaced checkout while Stripe was down", async () => {
    const { headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const first = await openTab(headers, tenantId);
    stripe.fail(
      { kind: "delay", ms: 0 },
      { kind: "status", status: 503 },
      { kind: "status", status: 503 },
    );
    await openTab(headers, tenantId);
    await eventually(() => expireCalls(first.id).length === 2);
    expect(stripe.sessions.get(first.id)?.status).toBe("open");
    await runCron(Math.floor(Date.now() / 1000) + 60);
    expect(expireCalls(first.id)).toHaveLength(3);
    expect(stripe.sessions.get(first.id)?.status).toBe("expired");
    expect(await rowStatus(first.id)).toBe("expired");
  });

  it("records a replaced checkout that Stripe expired though the answer was lost, once asked again", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const first = await openTab(headers, tenantId);
    // The expiry executes at Stripe, but both of the SDK's attempts lose the answer.
    stripe.fail(
      { kind: "delay", ms: 0 },
      { kind: "timeout", afterCreate: true },
      { kind: "timeout", afterCreate: true },
    );
    await openTab(headers, tenantId);
    await eventually(() => expireCalls(first.id).length === 2);
    expect(stripe.sessions.get(first.id)?.status).toBe("expired");
    stripe.takeEmittedEvents(); // Stripe's own checkout.session.expired is late
    await runCron(Math.floor(Date.now() / 1000) + 60);
    // Stripe refuses the expiry now (not open): the session is read, and its state recorded.
    expect(await rowStatus(first.id)).toBe("expired");
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.expired"]);
    await runCron(Math.floor(Date.now() / 1000) + 660);
    expect(expireCalls(first.id)).toHaveLength(3);
  });

  it("shows, logs and tells a second running subscription that Stripe made in a race", async () => {
    const { app, headers } = await givenWriter();
    const read = (await givenKey(app.id, "read")).headers;
    const tenantId = crypto.randomUUID();
    const first = await openTab(headers, tenantId);
    // The person pays the first tab; its events are late. Meanwhile a second tab opens: the
    // first can no longer be expired (Stripe completed it), and the second is paid too.
    const firstEvents = stripe.completeSession(first.id);
    stripe.advanceClock(2_000); // the second subscription is made a moment later
    const second = await openTab(headers, tenantId);
    await eventually(() => expireCalls(first.id).length === 1);
    const errors = vi.spyOn(console, "error");
    await deliverAll([...firstEvents, ...stripe.completeSession(second.id)]);
    const older = stripe.sessions.get(first.id)?.subscription;
    const newer = stripe.sessions.get(second.id)?.subscription;

    const { billing } = await billingOf(read, tenantId);
    expect(billing?.subscriptions.map((s) => [s.id, s.status, s.duplicateOf])).toEqual([
      [newer, "active", older],
      [older, "active", null],
    ]);
    const created = (await eventsOfApp(app.id))
      .filter((e) => e.type === "subscription.created" || e.type === "subscription.updated")
      .map((e) => JSON.parse(e.object) as { id: string; duplicateOf: string | null })
      .filter((o) => o.id === newer);
    expect(created.at(-1)?.duplicateOf).toBe(older);
    await eventually(() =>
      errors.mock.calls.some(([line]) =>
        String(line).includes('"duplicate running subscriptions"'),
      ),
    );
    const line = errors.mock.calls.find(([l]) => String(l).includes("duplicate running"))?.[0];
    expect(JSON.parse(String(line))).toMatchObject({
      billing: "duplicate running subscriptions",
      appId: app.id,
      tenantId,
      livemode: false,
      subscriptions: expect.arrayContaining([older, newer]),
    });
    errors.mockRestore();
  });
});
