import { execFile } from "node:child_process";
import { beforeEach, describe, expect, it } from "vitest";
import { reconcileNow } from "../../cli/billing.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import { useDoubleServer } from "./helpers/double-server.ts";
import { ROOT, useLocalApps } from "./helpers/local-apps.ts";

/** `billing reconcile`: the cron's reconciliation on demand, against real D1 and the double. */
const local = useLocalApps({ migrate: true });
const double = useDoubleServer();

beforeEach(async () => {
  await local.db().prepare("DELETE FROM subscriptions").run();
});

/** The CLI's deps, with the worker's vars pointed at the double. */
function deps() {
  const base = local.setup();
  return {
    ...base,
    bindings: async () => {
      const env = await base.bindings();
      return {
        ...env,
        vars: {
          ...env.vars,
          STRIPE_API_BASE_URL: double.origin(),
          STRIPE_SECRET_KEY_TEST: "sk_test_cli_reconcile",
        },
      };
    },
  };
}

/** A subscription paid at the double, and its rows as the worker would have written them. */
async function givenSubscription() {
  const form = new URLSearchParams({
    mode: "subscription",
    success_url: "https://app.example.test/ok",
    cancel_url: "https://app.example.test/no",
    "line_items[0][price]": "price_eur_monthly",
    "line_items[0][quantity]": "1",
    expires_at: String(Math.floor(Date.now() / 1000) + 3600),
  });
  const session = (await (
    await fetch(`${double.origin()}/v1/checkout/sessions`, {
      method: "POST",
      headers: { Authorization: "Bearer sk_test_cli_reconcile" },
      body: form,
    })
  ).json()) as { id: string };
  await fetch(`${double.origin()}/c/pay/${session.id}/pay`, { method: "POST", redirect: "manual" });
  const subs = (await (await fetch(`${double.origin()}/__double/subscriptions`)).json()) as {
    id: string;
    customer: string;
    currentPeriodEnd: number;
  }[];
  const sub = subs.at(-1);
  if (!sub) throw new Error("no subscription at the double");
  const checkoutId = crypto.randomUUID();
  await local
    .db()
    .prepare(
      `INSERT INTO subscriptions (id, app_id, tenant_id, livemode, checkout_id, customer_id, status, cancel_at_period_end,
         current_period_end, created_at, fetched_at_ms, synced_at, next_sync_at)
       VALUES (?1, ?2, ?3, 0, ?4, ?5, 'active', 0, ?6, 0, 0, 0, ?7)`,
    )
    .bind(
      sub.id,
      crypto.randomUUID(),
      crypto.randomUUID(),
      checkoutId,
      sub.customer,
      sub.currentPeriodEnd,
      Math.floor(Date.now() / 1000) + 3600,
    )
    .run();
  return sub;
}

describe("billing reconcile", () => {
  it("reads due subscriptions again from Stripe (all of them with --all) and says what changed", async () => {
    const sub = await givenSubscription();
    const renewed = await fetch(
      `${double.origin()}/__double/subscriptions/${sub.id}/renew?outcome=failed`,
      {
        method: "POST",
      },
    );
    expect(renewed.status).toBe(200);
    // Not due yet: nothing read.
    expect(await reconcileNow(deps(), { limit: 100, all: false })).toMatchObject({ checked: 0 });
    const result = await reconcileNow(deps(), { limit: 100, all: true });
    expect(result.checked).toBe(1);
    expect(result.failed).toEqual([]);
    expect(result.changed).toEqual([
      {
        id: sub.id,
        before: expect.objectContaining({
          status: "active",
          currentPeriodEnd: sub.currentPeriodEnd,
        }),
        after: expect.objectContaining({ status: "past_due" }),
      },
    ]);
    const row = await local
      .db()
      .prepare("SELECT status FROM subscriptions WHERE id = ?1")
      .bind(sub.id)
      .first();
    expect(row).toEqual({ status: "past_due" });
  });

  it("names a missing Stripe secret key, and stops there", async () => {
    await givenSubscription();
    await givenSubscription();
    const base = deps();
    const withoutKey = {
      ...base,
      bindings: async () => {
        const env = await base.bindings();
        const { STRIPE_SECRET_KEY_TEST: _key, ...vars } = env.vars;
        return { ...env, vars };
      },
    };
    const result = await reconcileNow(withoutKey, { limit: 100, all: true });
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.error).toContain("STRIPE_SECRET_KEY_TEST");
  });

  it("says which it could not read, and refuses a bad --limit before opening anything", async () => {
    const sub = await givenSubscription();
    await fetch(`${double.origin()}/__double/faults`, {
      method: "POST",
      body: JSON.stringify({
        faults: [
          { kind: "status", status: 503 },
          { kind: "status", status: 503 },
        ],
      }),
    });
    const result = await reconcileNow(deps(), { limit: 100, all: true });
    expect(result.failed).toContainEqual({
      id: sub.id,
      error:
        "Stripe is unavailable; Stripe delivers the event again, and the reconciliation reads it again later",
    });
    await expect(reconcileNow(deps(), { limit: 0, all: false })).rejects.toThrow(UsageError);
    const usage = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        ["--experimental-strip-types", "cli/admin.ts", "billing", "reconcile", "--limit", "x"],
        { cwd: ROOT },
        (error) => resolve(error ? Number(error.code) : 0),
      ),
    );
    expect(usage).toBe(2);
  });

  it("refuses to run while the cron (or another operator) holds the reconciliation, reading nothing", async () => {
    await givenSubscription();
    await local
      .db()
      .prepare(
        "INSERT INTO job_leases (job, holder, expires_at) VALUES ('reconcile', 'cron-run', ?1)",
      )
      .bind(Math.floor(Date.now() / 1000) + 300)
      .run();
    try {
      await expect(reconcileNow(deps(), { limit: 100, all: true })).rejects.toThrow(
        new CommandError(
          "A reconciliation is running already (the cron's, or another operator's); run this again in a minute.",
        ),
      );
    } finally {
      await local.db().prepare("DELETE FROM job_leases WHERE holder = 'cron-run'").run();
    }
    // Free again: it runs.
    expect((await reconcileNow(deps(), { limit: 100, all: true })).checked).toBe(1);
  });
});
