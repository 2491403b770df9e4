import { Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { assertTenantAccess } from "../auth/tenant-access.ts";
import { openPortal } from "../billing/portal.ts";
import type { HonoEnv } from "../env.ts";
import { successEnvelope } from "../errors.ts";
import { limitBody } from "../middleware/limit-body.ts";
import { limitPortalsPerAddress, limitPortalsPerCredential } from "../middleware/rate-limit.ts";
import { validate, validateJsonBody } from "../middleware/validation.ts";
import { portalBodySchema } from "../schemas/billing.ts";
import { tenantParamSchema } from "../schemas/checkout.ts";
import { stripeGatewaysFor } from "../stripe/gateways.ts";

/**
 * A Stripe customer-portal session for the tenant: write keys, or a token of that tenant; rate
 * limited like the create routes, in buckets of its own.
 */
export const portalRoutes = new Hono<HonoEnv>().post(
  "/tenants/:tenantId/portal-sessions",
  limitBody,
  limitPortalsPerAddress,
  authenticate({ write: true, tokens: true }),
  limitPortalsPerCredential,
  validate("param", tenantParamSchema),
  validateJsonBody(portalBodySchema),
  async (c) => {
    const { tenantId } = c.req.valid("param");
    assertTenantAccess(c.get("credential"), tenantId);
    const portal = await openPortal(
      { db: c.env.DB, stripeFor: stripeGatewaysFor(c.env, c.get("config")) },
      { app: c.get("app"), tenantId, body: c.req.valid("json") },
    );
    return c.json(successEnvelope("Portal session created", { portal }), 200);
  },
);
