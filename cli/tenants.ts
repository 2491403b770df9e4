import * as z from "zod";
import { forgetTenantCustomer } from "../src/db/tenant-customers.ts";
import { loadApp } from "./apps.ts";
import type { Deps } from "./deps.ts";
import { CommandError } from "./errors.ts";
import { appIdSchema, check } from "./parsing.ts";

/** Tenant ids in their one canonical form, as the worker compares them (lower case). */
const tenantIdSchema = z.uuid("must be a UUID").transform((value) => value.toLowerCase());

export type ForgottenCustomer = {
  appId: string;
  tenantId: string;
  livemode: boolean;
  /** The customer forgotten, or null when the tenant had none in that mode. */
  forgotten: string | null;
};

/**
 * Forgets the Stripe customer the worker remembers for a tenant in one mode, so that the
 * tenant's next checkout lets Stripe create a new one (for a customer deleted at Stripe, or
 * moved to another account). The worker does the same on its own when Stripe answers that the
 * customer is gone; this is for the operator who knows first.
 */
export async function forgetCustomer(
  deps: Deps,
  input: { appId: string; tenantId: string; live: boolean },
): Promise<ForgottenCustomer> {
  const appId = check(appIdSchema, input.appId, "--app");
  const tenantId = check(tenantIdSchema, input.tenantId, "--tenant");
  const { APPS, DB } = await deps.bindings();
  await loadApp(APPS, appId);
  let forgotten: string | null;
  try {
    forgotten = await forgetTenantCustomer(DB, { appId, tenantId, livemode: input.live });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CommandError(
      `could not reach the tenant customers in D1 (are the migrations applied? npm run db:migrate): ${reason}`,
    );
  }
  return { appId, tenantId, livemode: input.live, forgotten };
}
