/**
 * D1 queries over tenant_customers: the Stripe customer of a tenant, per app and mode. The
 * operator's CLI uses them too, so the D1 type is imported rather than global.
 */
import type { D1Database } from "@cloudflare/workers-types";

export async function findTenantCustomer(
  db: D1Database,
  appId: string,
  tenantId: string,
  livemode: boolean,
): Promise<string | null> {
  const row = await db
    .prepare(
      "SELECT stripe_customer_id FROM tenant_customers WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3",
    )
    .bind(appId, tenantId, livemode ? 1 : 0)
    .first<{ stripe_customer_id: string }>();
  return row?.stripe_customer_id ?? null;
}

/**
 * Forgets the tenant's customer (Stripe no longer has it, or the operator says so), so that the
 * next checkout lets Stripe create a new one. With `customerId`, only if it is still that one:
 * a customer learnt meanwhile is kept. Returns the customer forgotten, or null.
 */
export async function forgetTenantCustomer(
  db: D1Database,
  key: { appId: string; tenantId: string; livemode: boolean },
  customerId?: string,
): Promise<string | null> {
  const row = await db
    .prepare(
      `DELETE FROM tenant_customers WHERE app_id = ?1 AND tenant_id = ?2 AND livemode = ?3
         AND (?4 IS NULL OR stripe_customer_id = ?4)
       RETURNING stripe_customer_id`,
    )
    .bind(key.appId, key.tenantId, key.livemode ? 1 : 0, customerId ?? null)
    .first<{ stripe_customer_id: string }>();
  return row?.stripe_customer_id ?? null;
}
