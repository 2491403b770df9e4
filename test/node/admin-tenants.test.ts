import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createApp } from "../../cli/apps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import { forgetCustomer } from "../../cli/tenants.ts";
import { ROOT, UNKNOWN_APP, useLocalApps } from "./helpers/local-apps.ts";

const local = useLocalApps({ migrate: true });

async function remember(appId: string, tenantId: string, livemode: boolean, customer: string) {
  await local
    .db()
    .prepare(
      "INSERT INTO tenant_customers (app_id, tenant_id, livemode, stripe_customer_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 0, 0)",
    )
    .bind(appId, tenantId, livemode ? 1 : 0, customer)
    .run();
}

async function remembered(appId: string, tenantId: string) {
  const { results } = await local
    .db()
    .prepare(
      "SELECT livemode, stripe_customer_id FROM tenant_customers WHERE app_id = ?1 AND tenant_id = ?2 ORDER BY livemode",
    )
    .bind(appId, tenantId)
    .all();
  return results;
}

describe("tenant forget-customer", () => {
  it("forgets the tenant's customer of one mode, whatever case the tenant id is written in", async () => {
    const deps = local.setup();
    const app = await createApp(deps, { name: "Shop" });
    const tenantId = crypto.randomUUID();
    await remember(app.id, tenantId, false, "cus_test_gone");
    await remember(app.id, tenantId, true, "cus_live_kept");

    const result = await forgetCustomer(deps, {
      appId: app.id,
      tenantId: tenantId.toUpperCase(),
      live: false,
    });
    expect(result).toEqual({
      appId: app.id,
      tenantId,
      livemode: false,
      forgotten: "cus_test_gone",
    });
    expect(await remembered(app.id, tenantId)).toEqual([
      { livemode: 1, stripe_customer_id: "cus_live_kept" },
    ]);
    // Again: nothing left to forget, and it says so.
    expect(await forgetCustomer(deps, { appId: app.id, tenantId, live: false })).toMatchObject({
      forgotten: null,
    });
  });

  it("refuses a tenant id that is no UUID (usage) and an unknown app (could not be done)", async () => {
    const deps = local.setup();
    const app = await createApp(deps, { name: "Shop" });
    await expect(
      forgetCustomer(deps, { appId: app.id, tenantId: "t-1", live: false }),
    ).rejects.toThrow(new UsageError("--tenant: must be a UUID"));
    await expect(
      forgetCustomer(deps, { appId: UNKNOWN_APP, tenantId: crypto.randomUUID(), live: false }),
    ).rejects.toThrow(new CommandError(`app ${UNKNOWN_APP} not found`));
  });

  it("runs through the CLI on the local state of wrangler dev, printing one JSON object", async () => {
    const deps = local.setup();
    const app = await createApp(deps, { name: "Shop" });
    const tenantId = crypto.randomUUID();
    await remember(app.id, tenantId, true, "cus_live_gone");
    // The proxy of this file holds the state open; the CLI opens its own on the same directory.
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          "--experimental-strip-types",
          "cli/admin.ts",
          "tenant",
          "forget-customer",
          "--app",
          app.id,
          "--tenant",
          tenantId,
          "--live",
          "--json",
          "--persist-to",
          local.stateDir(),
        ],
        { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      appId: app.id,
      tenantId,
      livemode: true,
      forgotten: "cus_live_gone",
    });
    expect(await remembered(app.id, tenantId)).toEqual([]);
  });
});
