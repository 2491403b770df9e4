import { type Context, Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { mayReadCheckout } from "../auth/tenant-access.ts";
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
  by: { tenantId: string | null; createdBy: string | null },
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
  const { checkout, superseded } = await createCheckout(deps, { app, ...by, body });
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
        .then(({ origins }) => Promise.all(origins.map((o) => enqueueOrigin(producer, o))))
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
