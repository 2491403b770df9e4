import { type Context, Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { mayReadCheckout } from "../auth/tenant-access.ts";
import { createCheckout } from "../checkouts/create.ts";
import { toCheckoutDetails } from "../checkouts/view.ts";
import { nowSeconds } from "../clock.ts";
import { findCheckoutBySessionId } from "../db/checkouts.ts";
import type { AuthenticatedEnv, HonoEnv } from "../env.ts";
import { ApiError, successEnvelope } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import { limitBody } from "../middleware/limit-body.ts";
import { limitCreatesPerAddress, limitCreatesPerCredential } from "../middleware/rate-limit.ts";
import { validate, validateJsonBody } from "../middleware/validation.ts";
import {
  type CreateCheckoutBody,
  createCheckoutBodySchema,
  tenantParamSchema,
} from "../schemas/checkout.ts";
import { sessionIdParamSchema } from "../schemas/params.ts";
import { stripeGatewaysFor } from "../stripe/gateways.ts";

async function respondWithNewCheckout(
  c: Context<AuthenticatedEnv>,
  by: { tenantId: string | null; createdBy: string | null },
  body: CreateCheckoutBody,
) {
  const app = c.get("app");
  const config = c.get("config");
  const checkout = await createCheckout(
    {
      db: c.env.DB,
      config,
      now: nowSeconds,
      stripeFor: stripeGatewaysFor(c.env, config),
    },
    { app, ...by, body },
  );
  return c.json(successEnvelope("Checkout session created", { checkout }), 200);
}

export const checkoutSessionRoutes = new Hono<HonoEnv>()
  .post(
    "/checkout-sessions",
    limitBody,
    limitCreatesPerAddress,
    authenticate({ write: true, tokens: true }),
    limitCreatesPerCredential,
    validateJsonBody(createCheckoutBodySchema),
    (c) => {
      const credential = c.get("credential");
      // A token acts for the tenant it names, as its subject; an API key on this route acts for
      // no tenant.
      const by =
        credential.kind === "access_token"
          ? { tenantId: credential.tenantId, createdBy: credential.subject }
          : { tenantId: null, createdBy: null };
      return respondWithNewCheckout(c, by, c.req.valid("json"));
    },
  )
  .post(
    "/tenants/:tenantId/checkout-sessions",
    limitBody,
    limitCreatesPerAddress,
    authenticate({ write: true, tokens: false }),
    limitCreatesPerCredential,
    validate("param", tenantParamSchema),
    validateJsonBody(createCheckoutBodySchema),
    (c) =>
      respondWithNewCheckout(
        c,
        { tenantId: c.req.valid("param").tenantId, createdBy: null },
        c.req.valid("json"),
      ),
  )
  .get(
    "/checkout-sessions/:id",
    authenticate({ write: false, tokens: true }),
    validate("param", sessionIdParamSchema),
    async (c) => {
      const app = c.get("app");
      const credential = c.get("credential");
      const record = await findCheckoutBySessionId(c.env.DB, app.id, c.req.valid("param").id);
      // Whatever the credential may not read does not exist.
      if (!record || !mayReadCheckout(credential, record)) {
        throw new ApiError("not_found", MESSAGES.checkoutNotFound);
      }
      const stripeSessionId = c.req.valid("param").id;
      const checkout = toCheckoutDetails(
        { ...record, stripeSessionId },
        c.get("config"),
        nowSeconds(),
      );
      return c.json(successEnvelope("Checkout session found", { checkout }), 200);
    },
  );
