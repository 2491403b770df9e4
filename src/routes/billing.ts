import { Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { assertTenantAccess } from "../auth/tenant-access.ts";
import { toBillingView } from "../billing/view.ts";
import { listTenantInvoices, listTenantSubscriptions } from "../db/billing.ts";
import { findTenantCustomer } from "../db/tenant-customers.ts";
import type { HonoEnv } from "../env.ts";
import { successEnvelope } from "../errors.ts";
import { validate } from "../middleware/validation.ts";
import { billingQuerySchema } from "../schemas/billing.ts";
import { tenantParamSchema } from "../schemas/checkout.ts";

/** SPEC: "the latest invoices (… newest first, at most 12)". */
const LATEST_INVOICES = 12;

/**
 * The tenant's billing state, as the webhooks and the reconciliation keep it: read from D1 only.
 * A tenant without any is the same shape, empty (not 404); another app's tenant is invisible,
 * since every query is by this app.
 */
export const billingRoutes = new Hono<HonoEnv>().get(
  "/tenants/:tenantId/billing",
  authenticate({ write: false, tokens: true }),
  validate("param", tenantParamSchema),
  validate("query", billingQuerySchema),
  async (c) => {
    const { tenantId } = c.req.valid("param");
    assertTenantAccess(c.get("credential"), tenantId);
    const livemode = !c.req.valid("query").test;
    const key = { appId: c.get("app").id, tenantId, livemode };
    const [customerId, subscriptions, invoices] = await Promise.all([
      findTenantCustomer(c.env.DB, key.appId, tenantId, livemode),
      listTenantSubscriptions(c.env.DB, key),
      listTenantInvoices(c.env.DB, key, LATEST_INVOICES),
    ]);
    const billing = toBillingView({ tenantId, livemode, customerId, subscriptions, invoices });
    return c.json(successEnvelope("Billing state found", { billing }), 200);
  },
);
