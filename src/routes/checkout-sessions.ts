import { type Context, Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { createCheckout } from "../checkouts/create.ts";
import { expireSuperseded } from "../checkouts/supersede.ts";
import { toCheckoutDetails } from "../checkouts/view.ts";
import { nowMs, nowSeconds } from "../clock.ts";
import { findCheckoutBySessionId } from "../db/checkouts.ts";
import type { DeliveryMessage } from "../db/deliveries.ts";
import type { AuthenticatedEnv, HonoEnv } from "../env.ts";
import { ApiError, successEnvelope } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import { limitBody } from "../middleware/limit-body.ts";
import { limitCreatesPerAddress, limitCreatesPerCredential } from "../middleware/rate-limit.ts";
import { validate, validateJsonBody } from "../middleware/validation.ts";
import { enqueueOrigin } from "../outbound/producer.ts";
import {
  type CreateCheckoutBody,
  createCheckoutBodySchema,
  tenantParamSchema,
} from "../schemas/checkout.ts";
import { sessionIdParamSchema } from "../schemas/params.ts";
import { stripeGatewaysFor } from "../stripe/gateways.ts";

async function respondWithNewCheckout(
  c: Context<AuthenticatedEnv>,
  tenantId: string | null,
  body: CreateCheckoutBody,
) {
  const app = c.get("app");
  const config = c.get("config");
  const deps = {
    db: c.env.DB,
    config,
    now: nowSeconds,
    nowMs,
    stripeFor: stripeGatewaysFor(c.env, config),
  };
  const { checkout, superseded } = await createCheckout(deps, { app, tenantId, body });
  // The tenant's earlier open subscription checkouts are expired at Stripe after the answer;
  // what fails here, the cron asks again.
  if (superseded.length > 0) {
    const producer = {
      db: c.env.DB,
      queue: c.env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
      now: nowSeconds,
    };
    c.executionCtx.waitUntil(
      expireSuperseded(deps, superseded)
        .then((origins) => Promise.all(origins.map((o) => enqueueOrigin(producer, o))))
        .catch(() => undefined),
    );
  }
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
      // A token acts for the tenant it names; an API key on this route acts for no tenant.
      const tenantId = credential.kind === "access_token" ? credential.tenantId : null;
      return respondWithNewCheckout(c, tenantId, c.req.valid("json"));
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
    (c) => respondWithNewCheckout(c, c.req.valid("param").tenantId, c.req.valid("json")),
  )
  .get(
    "/checkout-sessions/:id",
    authenticate({ write: false, tokens: true }),
    validate("param", sessionIdParamSchema),
    async (c) => {
      const app = c.get("app");
      const credential = c.get("credential");
      const record = await findCheckoutBySessionId(c.env.DB, app.id, c.req.valid("param").id);
      // A token sees only its own tenant's checkouts; whatever it may not see does not exist.
      const visible =
        record && (credential.kind === "api_key" || record.tenantId === credential.tenantId);
      if (!visible) throw new ApiError("not_found", MESSAGES.checkoutNotFound);
      const stripeSessionId = c.req.valid("param").id;
      const checkout = toCheckoutDetails(
        { ...record, stripeSessionId },
        c.get("config"),
        nowSeconds(),
      );
      return c.json(successEnvelope("Checkout session found", { checkout }), 200);
    },
  );
