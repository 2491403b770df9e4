import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import { BATCH_SIZE } from "../../src/maintenance.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const DAY = 86_400;

async function runCron(at: number) {
  await worker.scheduled(
    createScheduledController({ scheduledTime: at * 1000, cron: "*/10 * * * *" }),
    env,
  );
}

/** Inserts `count` checkouts of one app directly, for volumes the API would take long to make. */
async function insertCheckouts(
  appId: string,
  count: number,
  fields: { status: string; createdAt: number; expiresAt: number },
) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO checkout_sessions (id, hash, app_id, livemode, state_digest, request_fingerprint, status, mode, price, quantity,
       tax_rate, allowed_country, payment_method, billing_address_collection, reverse_charge, created_at, updated_at, expires_at)
     SELECT ?2 || i, ?2 || 'h' || i, ?3, 0, ?2 || 's' || i, 'f', ?4, 'payment', 'price_eur_once', 1, 'txr_vat_de_19', 'DE', 'card', 0, 0, ?5, ?5, ?6 FROM n`,
  )
    .bind(count, crypto.randomUUID(), appId, fields.status, fields.createdAt, fields.expiresAt)
    .run();
}

async function statusCounts(appId: string) {
  const { results } = await env.DB.prepare(
    "SELECT status, COUNT(*) AS n FROM checkout_sessions WHERE app_id = ?1 GROUP BY status ORDER BY status",
  )
    .bind(appId)
    .all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

describe("the scheduled handler", () => {
  it("expires open checkouts past expires_at and leaves the others", async () => {
    const { app, headers } = await givenWriter();
    const now = Math.floor(Date.now() / 1000);
    const due = await postJson(
      "/api/v1/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    const fresh = await postJson(
      "/api/v1/checkout-sessions",
      validBody({ state: newState() }),
      headers,
    );
    const dueId = (due.body.data as { checkout: { id: string } }).checkout.id;
    // Stripe expired it; its event never came. (The cron asks Stripe first: expiry-reads.test.ts.)
    stripe.expireSession(dueId);
    await env.DB.prepare(
      "UPDATE checkout_sessions SET expires_at = ?1 WHERE stripe_session_id = ?2",
    )
      .bind(now - 1, dueId)
      .run();
    await insertCheckouts(app.id, 3, {
      status: "complete",
      createdAt: now - DAY,
      expiresAt: now - 100,
    });

    await runCron(now);

    const rows = await rowsOfApp(app.id);
    const byId = Object.fromEntries(rows.map((r) => [r.stripe_session_id ?? r.id, r.status]));
    expect(byId[dueId]).toBe("expired");
    expect(byId[(fresh.body.data as { checkout: { id: string } }).checkout.id]).toBe("open");
    expect(await statusCounts(app.id)).toEqual({ complete: 3, expired: 1, open: 1 });
  });

  it("expires pending checkouts past expires_at", async () => {
    const { app } = await givenWriter();
    const now = Math.floor(Date.now() / 1000);
    await insertCheckouts(app.id, 2, {
      status: "pending",
      createdAt: now - 7200,
      expiresAt: now - 3600,
    });
    await runCron(now);
    expect(await statusCounts(app.id)).toEqual({ expired: 2 });
  });

  it("works through more rows than one batch", async () => {
    const { app } = await givenWriter();
    const now = Math.floor(Date.now() / 1000);
    await insertCheckouts(app.id, BATCH_SIZE * 2 + 7, {
      status: "open",
      createdAt: now - 7200,
      expiresAt: now - 60,
    });
    await runCron(now);
    expect(await statusCounts(app.id)).toEqual({ expired: BATCH_SIZE * 2 + 7 });
  });

  it("deletes finished checkouts past the retention, never open ones or newer ones", async () => {
    const { app } = await givenWriter();
    const now = Math.floor(Date.now() / 1000);
    const old = now - 401 * DAY;
    await insertCheckouts(app.id, 4, { status: "complete", createdAt: old, expiresAt: old + 3600 });
    await insertCheckouts(app.id, 3, { status: "expired", createdAt: old, expiresAt: old + 3600 });
    await insertCheckouts(app.id, 2, {
      status: "complete",
      createdAt: now - 399 * DAY,
      expiresAt: now - 399 * DAY + 3600,
    });
    await insertCheckouts(app.id, 1, {
      status: "open",
      createdAt: now - 60,
      expiresAt: now + 3600,
    });
    await runCron(now);
    expect(await statusCounts(app.id)).toEqual({ complete: 2, open: 1 });
  });

  it("deletes processed event ids past the event retention", async () => {
    const now = Math.floor(Date.now() / 1000);
    const oldId = `evt_old_${crypto.randomUUID()}`;
    const newId = `evt_new_${crypto.randomUUID()}`;
    await env.DB.batch(
      [
        [oldId, now - 31 * DAY],
        [newId, now - 29 * DAY],
      ].map(([id, at]) =>
        env.DB.prepare(
          "INSERT INTO stripe_events (id, type, livemode, created_at, received_at) VALUES (?1, 'checkout.session.completed', 0, ?2, ?2)",
        ).bind(id, at),
      ),
    );
    await runCron(now);
    const left = await env.DB.prepare("SELECT id FROM stripe_events WHERE id IN (?1, ?2)")
      .bind(oldId, newId)
      .all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual([newId]);
  });
});
