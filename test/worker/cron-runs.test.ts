import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAINTENANCE_VARS, parseConfigOf } from "../../src/config.ts";
import type { DeliveryMessage } from "../../src/db/deliveries.ts";
import worker from "../../src/index.ts";
import { runMaintenance } from "../../src/maintenance.ts";
import { stripeGatewaysFor } from "../../src/stripe/gateways.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { paidSubscription, runCron, subscriptionRow } from "./helpers/billing.ts";
import { postJson, validBody } from "./helpers/http.ts";
import {
  deliveryRow,
  givenCheckoutRow,
  givenEndpoint,
  givenUnsentEvent,
} from "./helpers/outbound.ts";
import { stripe } from "./helpers/stripe.ts";

/**
 * Issue 19, B9: the cron keeps its promises. The outbound sweep first, then the Stripe work,
 * then the retention, each within one time budget; Stripe failing in any step ends the Stripe
 * work of all of them; two runs at once (a slow run and the next, or the operator's
 * reconciliation) never make the same Stripe call twice.
 */

/** What each kind of Stripe work of these tests calls. */
const isSessionRead = (path: string) => path.startsWith("/v1/checkout/sessions/");
const isCustomerUpdate = (path: string) => path.startsWith("/v1/customers/");
const isSubscriptionRead = (path: string) => path.startsWith("/v1/subscriptions/");

/**
 * Stripe work of every kind, due at `at`: open checkouts past their expiry (Stripe expired
 * them; the events are lost), a reverse-charge follow-up, a subscription to reconcile.
 */
async function givenStripeWork(checkouts = 2) {
  const { app, headers } = await givenWriter();
  const sessions: string[] = [];
  for (let i = 0; i < checkouts; i++) {
    const res = await postJson(
      "/api/v1/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    const id = (res.body.data as { checkout: { id: string } }).checkout.id;
    stripe.expireSession(id);
    sessions.push(id);
  }
  const { subscriptionId } = await paidSubscription(headers);
  await env.DB.prepare("UPDATE subscriptions SET next_sync_at = 1 WHERE id = ?1")
    .bind(subscriptionId)
    .run();
  // A recorded reverse-charge completion whose customer update is due again.
  const customer = stripe.addCustomer(false);
  const followUp = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState() }),
    headers,
  );
  const followUpSession = (followUp.body.data as { checkout: { id: string } }).checkout.id;
  await env.DB.prepare(
    `UPDATE checkout_sessions SET status = 'complete', reverse_charge = 1, stripe_customer_id = ?2,
       tax_exempt_status = 'pending', tax_exempt_next_at = 1 WHERE stripe_session_id = ?1`,
  )
    .bind(followUpSession, customer)
    .run();
  const at =
    Number(
      (
        await env.DB.prepare(
          "SELECT MAX(expires_at) AS at FROM checkout_sessions WHERE app_id = ?1",
        )
          .bind(app.id)
          .first<{ at: number }>()
      )?.at,
    ) + 60;
  stripe.requests.length = 0;
  return { app, headers, sessions, subscriptionId, customer, at };
}

function maintenanceDeps(at: number, nowMs: () => number) {
  const config = parseConfigOf(env, MAINTENANCE_VARS);
  return {
    db: env.DB,
    config,
    stripeFor: stripeGatewaysFor(env, config),
    queue: env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
    now: () => at,
    nowMs,
  };
}

const paths = () => stripe.requests.map((r) => r.path);

describe("the cron's order and time budget", () => {
  it("sweeps first, stops starting work when its budget is spent, and says what it left", async () => {
    const { app, headers } = await givenWriter();
    const endpoint = await givenEndpoint(headers);
    const { rowId } = await givenCheckoutRow(headers, app.id);
    const unsent = await givenUnsentEvent(rowId);
    const work = await givenStripeWork(3);
    // Each Stripe call takes 15 s of the run's clock: the budget (20 s) allows two.
    const start = Date.now();
    const nowMs = () => start + stripe.requests.length * 15_000;
    const result = await runMaintenance(maintenanceDeps(work.at + 120, nowMs));

    // The sweep handed the unsent delivery over before any Stripe work.
    expect((await deliveryRow(unsent.id, endpoint.id))?.enqueued_at).not.toBeNull();
    expect(paths().filter(isSessionRead)).toHaveLength(2);
    expect(paths().filter((p) => !isSessionRead(p))).toEqual([]);
    expect(result).toMatchObject({
      webhooksSwept: 1,
      sessionsRead: 2,
      followUps: 0,
      reconciled: 0,
    });
    expect(result.skipped).toEqual([
      // Four overdue: these three and the endpoint's checkout (still open at Stripe).
      "expiry reads: 2 left, time budget spent",
      "replaced checkouts: time budget spent",
      "follow-ups: time budget spent",
      "reconcile: time budget spent",
      "retention of app webhooks: time budget spent",
      "retention of checkouts: time budget spent",
      "retention of Stripe event ids: time budget spent",
      "retention of refusals: time budget spent",
    ]);
    // What was left is done by the next run.
    expect(await subscriptionRow(work.subscriptionId)).toMatchObject({ next_sync_at: 1 });
  });
});

describe("Stripe failing", () => {
  it("ends the Stripe work of every step at the first failure: no follow-up or reconciliation calls a down Stripe", async () => {
    const work = await givenStripeWork(1);
    // Stripe is down for longer than this run.
    stripe.fail(...Array.from({ length: 10 }, () => ({ kind: "status" as const, status: 503 })));

    await runCron(work.at);

    // One call (the SDK's two attempts), and nothing after it.
    expect(new Set(paths()).size).toBe(1);
    expect(paths()).toHaveLength(2);
    expect(paths().filter((p) => isCustomerUpdate(p) || isSubscriptionRead(p))).toEqual([]);
    stripe.clearFaults();
    // The follow-up and the subscription wait, untouched, for the next run.
    expect(await subscriptionRow(work.subscriptionId)).toMatchObject({ next_sync_at: 1 });
    const followUp = await env.DB.prepare(
      "SELECT tax_exempt_status, tax_exempt_attempts FROM checkout_sessions WHERE stripe_customer_id = ?1",
    )
      .bind(work.customer)
      .first();
    expect(followUp).toEqual({ tax_exempt_status: "pending", tax_exempt_attempts: 0 });
  });
});

describe("runs that overlap", () => {
  it("never make the same Stripe call twice when two runs go at once", async () => {
    const work = await givenStripeWork(3);
    // A slow Stripe, so that the two runs overlap.
    stripe.setLatency(60);
    try {
      await Promise.all([
        worker.scheduled(
          createScheduledController({ scheduledTime: work.at * 1000, cron: "*/10 * * * *" }),
          env,
        ),
        worker.scheduled(
          createScheduledController({ scheduledTime: work.at * 1000, cron: "*/10 * * * *" }),
          env,
        ),
      ]);
    } finally {
      stripe.setLatency(0);
    }
    const calls = paths().map((p) => p.replace(/\?.*$/, ""));
    for (const id of work.sessions) {
      expect(calls.filter((p) => p === `/v1/checkout/sessions/${id}`)).toHaveLength(1);
    }
    expect(calls.filter((p) => p === `/v1/customers/${work.customer}`)).toHaveLength(1);
    expect(calls.filter((p) => p === `/v1/subscriptions/${work.subscriptionId}`)).toHaveLength(1);
  });

  it("leaves the reconciliation to the operator's run that holds it, and says so", async () => {
    const work = await givenStripeWork(0);
    const until = Math.floor(Date.now() / 1000) + 300;
    await env.DB.prepare(
      "INSERT INTO job_leases (job, holder, expires_at) VALUES ('reconcile', 'cli-run', ?1)",
    )
      .bind(until)
      .run();
    try {
      const result = await runMaintenance(maintenanceDeps(work.at, Date.now));
      expect(result.skipped).toEqual(["reconcile: another run holds it"]);
      expect(paths().filter(isSubscriptionRead)).toEqual([]);
      // The rest of its Stripe work went on.
      expect(paths().filter((p) => p === `/v1/customers/${work.customer}`)).toHaveLength(1);
    } finally {
      await env.DB.prepare("DELETE FROM job_leases WHERE holder = 'cli-run'").run();
    }
  });
});
