import { Hono } from "hono";
import type { HonoEnv } from "../env.ts";
import { successEnvelope } from "../errors.ts";
import { stripeGatewaysFor } from "../stripe/client.ts";
import { verifyStripeEvent } from "../stripe/webhooks.ts";
import { applyStripeEvent, type EventOutcome } from "../webhooks/apply-event.ts";
import { limitBodyTo, MAX_WEBHOOK_BYTES } from "./limit-body.ts";
import { methodNotAllowed } from "./method-not-allowed.ts";

const MESSAGES: Record<EventOutcome, string> = {
  applied: "Event processed",
  duplicate: "Event already processed",
  ignored: "Event type ignored",
  unmatched: "Event processed: no checkout of this service",
};

export const webhookRoutes = new Hono<HonoEnv>()
  .post("/webhooks/stripe", limitBodyTo(MAX_WEBHOOK_BYTES), async (c) => {
    // The signature covers the exact bytes Stripe sent, so the raw text is verified, unparsed.
    const event = await verifyStripeEvent(await c.req.text(), c.req.header("Stripe-Signature"), {
      test: c.env.STRIPE_WEBHOOK_SECRET_TEST,
      live: c.env.STRIPE_WEBHOOK_SECRET_LIVE,
    });
    const config = c.get("config");
    const outcome = await applyStripeEvent(
      {
        db: c.env.DB,
        now: () => Math.floor(Date.now() / 1000),
        stripeFor: stripeGatewaysFor(c.env, config),
      },
      event,
    );
    return c.json(
      successEnvelope(MESSAGES[outcome], { received: true, eventId: event.id, outcome }),
      200,
    );
  })
  .all("/webhooks/stripe", methodNotAllowed("POST"));
