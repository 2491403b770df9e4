import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { MAX_EXPIRY_READS } from "../../src/maintenance.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { deliverAll, runCron } from "./helpers/billing.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { eventsOfApp } from "./helpers/outbound.ts";
import { stripe } from "./helpers/stripe.ts";

/**
 * Issue 19, B8: no paid checkout reported expired. Before the cron expires an open checkout past
 * its `expires_at`, it reads the session from Stripe: a completion whose events are late (or
 * lost) is recorded as its event would have recorded it, and the app is told it was completed,
 * never that it expired. The late events then change nothing.
 */

const SESSION_READ = /^\/v1\/checkout\/sessions\/cs_/;

async function createCheckout(
  headers: Record<string, string>,
  options: { tenantId?: string; body?: Record<string, unknown> } = {},
) {
  const path = options.tenantId
    ? `/api/v1/tenants/${options.tenantId}/checkout-sessions`
    : "/api/v1/checkout-sessions";
  const res = await postJson(path, validBody({ state: newState(), ...options.body }), headers);
  if (res.status !== 200) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body.data as { checkout: { id: string } }).checkout.id;
}

async function rowOf(sessionId: string) {
  const row = await env.DB.prepare("SELECT * FROM checkout_sessions WHERE stripe_session_id = ?1")
    .bind(sessionId)
    .first<Record<string, unknown>>();
  if (!row) throw new Error(`no row for ${sessionId}`);
  return row;
}

/** A time past every checkout's expiry of the app (the cron's clock, not the double's). */
async function pastExpiry(appId: string) {
  const row = await env.DB.prepare(
    "SELECT MAX(expires_at) AS at FROM checkout_sessions WHERE app_id = ?1",
  )
    .bind(appId)
    .first<{ at: number }>();
  return (row?.at ?? 0) + 60;
}

/** The app's checkout events (a paid one-time checkout's invoice has its own, invoice.paid). */
async function checkoutEvents(appId: string) {
  return (await eventsOfApp(appId)).filter((e) => e.type.startsWith("checkout."));
}

const sessionReads = () =>
  stripe.requests.filter((r) => r.method === "GET" && SESSION_READ.test(r.path));

async function tenantCustomer(appId: string, tenantId: string) {
  const row = await env.DB.prepare(
    "SELECT stripe_customer_id FROM tenant_customers WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = 0",
  )
    .bind(appId, tenantId)
    .first<{ stripe_customer_id: string }>();
  return row?.stripe_customer_id ?? null;
}

describe("the cron reads a session from Stripe before expiring it", () => {
  it("records a completion whose events are late as complete, tells the app checkout.completed and checkout.payment_succeeded, never checkout.expired, and the late events change nothing", async () => {
    const { app, headers } = await givenWriter();
    const tenantId = crypto.randomUUID();
    const sessionId = await createCheckout(headers, { tenantId });
    // Paid at Stripe; its events are late (not delivered yet).
    const late = stripe.completeSession(sessionId);
    const paid = stripe.sessions.get(sessionId);

    await runCron(await pastExpiry(app.id));

    const read = sessionReads();
    expect(read.map((r) => r.path)).toEqual([`/v1/checkout/sessions/${sessionId}`]);
    expect(read[0]?.form).toEqual({});
    expect(await rowOf(sessionId)).toMatchObject({
      status: "complete",
      payment_status: "paid",
      stripe_customer_id: paid?.customer,
      stripe_payment_intent_id: paid?.payment_intent,
    });
    expect(await tenantCustomer(app.id, tenantId)).toBe(paid?.customer);
    const events = await eventsOfApp(app.id);
    expect(events.map((e) => e.type)).toEqual(["checkout.completed", "checkout.payment_succeeded"]);
    const before = await rowOf(sessionId);

    // The late events come: each is taken (200), and the checkout changes no more, nor is
    // anything about it told again.
    await deliverAll(late);
    expect((await checkoutEvents(app.id)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    // (Only updated_at moves, as for any completion event Stripe sends again.)
    expect({ ...(await rowOf(sessionId)), updated_at: 0 }).toEqual({ ...before, updated_at: 0 });
    // Nor does the next run read it again: it is no longer open.
    stripe.requests.length = 0;
    await runCron(await pastExpiry(app.id));
    expect(sessionReads()).toEqual([]);
  });

  it("records a delayed (SEPA Debit) completion found by the cron as unpaid, and its later payment once", async () => {
    const { app, headers } = await givenWriter();
    const sessionId = await createCheckout(headers, { body: { paymentMethodType: "sepa" } });
    const late = stripe.completeSession(sessionId);
    // Read before the payment settled: complete, unpaid.
    const session = stripe.sessions.get(sessionId);
    if (session) session.payment_status = "unpaid";

    await runCron(await pastExpiry(app.id));
    expect(await rowOf(sessionId)).toMatchObject({ status: "complete", payment_status: "unpaid" });
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.completed"]);

    await deliverAll(late);
    expect(await rowOf(sessionId)).toMatchObject({ status: "complete", payment_status: "paid" });
    expect((await checkoutEvents(app.id)).map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
    ]);
  });

  it("reads the session of a connected account's checkout with its Stripe-Account", async () => {
    const account = "acct_connectedExpiry1";
    const { app, headers } = await givenWriter({ stripeAccountTest: account });
    const sessionId = await createCheckout(headers);
    stripe.completeSession(sessionId);

    await runCron(await pastExpiry(app.id));

    expect(sessionReads().map((r) => r.headers["stripe-account"])).toEqual([account]);
    expect(await rowOf(sessionId)).toMatchObject({ status: "complete" });
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual([
      "checkout.completed",
      "checkout.payment_succeeded",
    ]);
  });

  it("runs the reverse-charge follow-up of a completion it found, as the webhook does", async () => {
    const { app, headers } = await givenWriter();
    const sessionId = await createCheckout(headers, {
      body: { isReverseCharge: true, taxRate: "txr_reverse_charge_0" },
    });
    stripe.completeSession(sessionId);
    const customer = stripe.sessions.get(sessionId)?.customer;

    await runCron(await pastExpiry(app.id));

    expect(await rowOf(sessionId)).toMatchObject({
      status: "complete",
      tax_exempt_status: "applied",
    });
    const update = stripe.requests.filter((r) => r.path === `/v1/customers/${customer}`);
    expect(update.map((r) => r.form)).toEqual([{ tax_exempt: "reverse" }]);
    expect(customer && stripe.customers.get(customer)?.tax_exempt).toBe("reverse");
  });

  it("expires a checkout Stripe expired, telling the app checkout.expired once", async () => {
    const { app, headers } = await givenWriter();
    const sessionId = await createCheckout(headers);
    const late = stripe.expireSession(sessionId);

    await runCron(await pastExpiry(app.id));
    expect(await rowOf(sessionId)).toMatchObject({ status: "expired" });
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.expired"]);

    await deliverAll([late]);
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.expired"]);
  });

  it("leaves a checkout that Stripe still shows open (the clocks differ) for the next run", async () => {
    const { app, headers } = await givenWriter();
    const sessionId = await createCheckout(headers);
    const at = await pastExpiry(app.id);

    await runCron(at);
    expect(sessionReads()).toHaveLength(1);
    expect(await rowOf(sessionId)).toMatchObject({ status: "open" });
    expect(await eventsOfApp(app.id)).toEqual([]);

    stripe.expireSession(sessionId);
    await runCron(at + 600);
    expect(await rowOf(sessionId)).toMatchObject({ status: "expired" });
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual(["checkout.expired"]);
  });

  it("expires a checkout whose session Stripe does not know, and a reservation that never had one, as before", async () => {
    const { app, headers } = await givenWriter();
    const unknown = await createCheckout(headers);
    stripe.sessions.delete(unknown);
    // A reservation whose Stripe call never succeeded: nothing to read.
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    const failed = await postJson(
      "/api/v1/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    expect(failed.status).toBe(503);
    stripe.requests.length = 0;

    await runCron(await pastExpiry(app.id));

    expect(sessionReads().map((r) => r.path)).toEqual([`/v1/checkout/sessions/${unknown}`]);
    const rows = await rowsOfApp(app.id);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.stripe_session_id === unknown)?.status).toBe("expired");
    expect(rows.find((r) => r.stripe_session_id === null)?.status).toBe("expired");
    expect((await eventsOfApp(app.id)).map((e) => e.type)).toEqual([
      "checkout.expired",
      "checkout.expired",
    ]);
  });

  it("expires nothing it could not read when Stripe fails, and stops reading at the first failure", async () => {
    const { app, headers } = await givenWriter();
    const first = await createCheckout(headers);
    const second = await createCheckout(headers);
    stripe.completeSession(first);
    stripe.requests.length = 0;
    // Both of the SDK's attempts at the first read meet the outage.
    stripe.fail({ kind: "status", status: 503 }, { kind: "status", status: 503 });
    const at = await pastExpiry(app.id);

    await runCron(at);
    expect(sessionReads()).toHaveLength(2);
    expect(new Set(sessionReads().map((r) => r.path)).size).toBe(1);
    expect((await rowsOfApp(app.id)).map((r) => r.status)).toEqual(["open", "open"]);
    expect(await eventsOfApp(app.id)).toEqual([]);

    // Stripe is back: the next run reads both.
    stripe.expireSession(second);
    await runCron(at + 600);
    expect(await rowOf(first)).toMatchObject({ status: "complete" });
    expect(await rowOf(second)).toMatchObject({ status: "expired" });
  });

  it("reads at most MAX_EXPIRY_READS sessions per run, longest overdue first; the rest wait for the next run", async () => {
    const { app } = await givenWriter();
    const now = Math.floor(Date.now() / 1000);
    const count = MAX_EXPIRY_READS + 2;
    // Open checkouts whose sessions Stripe does not know (so each read expires one).
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO checkout_sessions (id, hash, app_id, livemode, state_digest, request_fingerprint, status, stripe_session_id,
         mode, price, quantity, tax_rate, allowed_country, payment_method, billing_address_collection, reverse_charge,
         created_at, updated_at, expires_at)
       SELECT ?2 || i, ?2 || 'h' || i, ?3, 0, ?2 || 's' || i, 'f', 'open', 'cs_test_gone' || ?4 || '_' || i,
         'payment', 'price_eur_once', 1, 'txr_vat_de_19', 'DE', 'card', 0, 0, ?5, ?5, ?6 - i FROM n`,
    )
      .bind(count, crypto.randomUUID(), app.id, crypto.randomUUID().slice(0, 8), now - 7200, now)
      .run();

    await runCron(now + 60);
    expect(sessionReads()).toHaveLength(MAX_EXPIRY_READS);
    const open = (await rowsOfApp(app.id)).filter((r) => r.status === "open");
    // The two due last (the latest expires_at) are left.
    expect(open.map((r) => r.stripe_session_id?.replace(/^.*_/, "")).sort()).toEqual(["1", "2"]);

    stripe.requests.length = 0;
    await runCron(now + 660);
    expect(sessionReads()).toHaveLength(2);
    expect((await rowsOfApp(app.id)).every((r) => r.status === "expired")).toBe(true);
  });

  it("postpones a checkout whose session Stripe refuses to show (not an outage) by an hour, and reads the others", async () => {
    const { app, headers } = await givenWriter();
    const first = await createCheckout(headers);
    const second = await createCheckout(headers);
    stripe.expireSession(first);
    stripe.expireSession(second);
    stripe.requests.length = 0;
    // The first read is refused (an account that no longer lets us in); the next one is not.
    stripe.fail({ kind: "status", status: 403, type: "invalid_request_error" });
    const at = await pastExpiry(app.id);

    await runCron(at);
    expect(sessionReads()).toHaveLength(2);
    const statuses = (await rowsOfApp(app.id)).map((r) => r.status).sort();
    expect(statuses).toEqual(["expired", "open"]);

    // Not read again within the hour; read after it.
    stripe.requests.length = 0;
    await runCron(at + 600);
    expect(sessionReads()).toEqual([]);
    await runCron(at + 3_700);
    expect(sessionReads()).toHaveLength(1);
    expect((await rowsOfApp(app.id)).map((r) => r.status)).toEqual(["expired", "expired"]);
  });

  it("gives up on a session it could not read for a day: expired here, and said so", async () => {
    const { app, headers } = await givenWriter();
    const id = await createCheckout(headers);
    stripe.expireSession(id);
    const at = await pastExpiry(app.id);
    // Every read is refused (an account that no longer lets us in).
    const refused = { kind: "status", status: 403, type: "invalid_request_error" } as const;
    stripe.fail(refused);
    await runCron(at);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("open");
    stripe.fail(refused);
    const errors = vi.spyOn(console, "error");
    await runCron(at + 86_400 + 3_600);
    expect((await rowsOfApp(app.id))[0]?.status).toBe("expired");
    expect(errors.mock.calls.some(([line]) => String(line).includes("gave up reading"))).toBe(true);
    errors.mockRestore();
  });

  it("reads checkouts never read before ahead of those it could not read", async () => {
    const { app, headers } = await givenWriter();
    const stuck = await createCheckout(headers);
    const at = await pastExpiry(app.id);
    stripe.fail({ kind: "status", status: 403, type: "invalid_request_error" });
    await runCron(at);
    // A newer overdue checkout is read first an hour later, though the stuck one is older.
    const fresh = await createCheckout(headers);
    stripe.expireSession(fresh);
    stripe.requests.length = 0;
    await runCron((await pastExpiry(app.id)) + 3_700);
    expect(sessionReads()[0]?.path).toBe(`/v1/checkout/sessions/${fresh}`);
    expect(stuck).not.toBe(fresh);
  });
});
