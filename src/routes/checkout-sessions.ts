import type { Context } from "hono";
import { Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { createCheckout } from "../checkouts/create.ts";
import { type HonoEnv, stripeSecretKey } from "../env.ts";
import { ApiError, successEnvelope } from "../errors.ts";
import type { CreateCheckoutBody } from "../schemas/checkout.ts";
import { createCheckoutBodySchema, tenantParamSchema } from "../schemas/checkout.ts";
import { createStripeGateway } from "../stripe/client.ts";
import { requireJsonBody, validate } from "../validation.ts";
import { limitBody } from "./limit-body.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";

async function respondWithNewCheckout(
  c: Context<HonoEnv>,
  tenantId: string | null,
  body: CreateCheckoutBody,
) {
  const app = c.get("app");
  if (!app) throw new ApiError("internal", "Internal error");
  const config = c.get("config");
  const checkout = await createCheckout(
    {
      db: c.env.DB,
      config,
      now: () => Math.floor(Date.now() / 1000),
      stripeFor: (livemode) =>
        createStripeGateway({
          secretKey: stripeSecretKey(c.env, livemode),
          apiBaseUrl: config.STRIPE_API_BASE_URL,
          timeoutMs: config.STRIPE_TIMEOUT_MS,
          maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
        }),
    },
    { app, tenantId, body },
  );
  return c.json(successEnvelope("Checkout session created", { checkout }), 200);
}

export const checkoutSessionRoutes = new Hono<HonoEnv>()
  .post(
    "/checkout-sessions",
    limitBody,
    authenticate({ write: true }),
    requireJsonBody,
    validate("json", createCheckoutBodySchema),
    (c) => respondWithNewCheckout(c, null, c.req.valid("json")),
  )
  .all("/checkout-sessions", methodNotAllowed("POST"))
  .post(
    "/tenants/:tenantId/checkout-sessions",
    limitBody,
    authenticate({ write: true }),
    validate("param", tenantParamSchema),
    requireJsonBody,
    validate("json", createCheckoutBodySchema),
    (c) => respondWithNewCheckout(c, c.req.valid("param").tenantId, c.req.valid("json")),
  )
  .all("/tenants/:tenantId/checkout-sessions", methodNotAllowed("POST"));
