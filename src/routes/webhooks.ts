import { Hono } from "hono";
import { nowMs, nowSeconds } from "../clock.ts";
import { parseConfigOf, STRIPE_EVENT_VARS } from "../config.ts";
import type { DeliveryMessage } from "../db/deliveries.ts";
import type { HonoEnv } from "../env.ts";
import { errorForLog, successEnvelope } from "../errors.ts";
import { limitBodyTo, MAX_WEBHOOK_BYTES } from "../middleware/limit-body.ts";
import { enqueueOrigin } from "../outbound/producer.ts";
import type { EventOutcome } from "../schemas/responses.ts";
import { stripeGatewaysFor } from "../stripe/gateways.ts";
import { verifyStripeEvent } from "../stripe/webhooks.ts";
import { applyStripeEvent } from "../webhooks/apply-event.ts";

const OUTCOME_MESSAGES: Record<EventOutcome, string> = {
  applied: "Event processed",
  duplicate: "Event already processed",
  ignored: "Event type ignored",
  unmatched: "Event processed: no checkout of this service",
};

export const webhookRoutes = new Hono<HonoEnv>().post(
  "/webhooks/stripe",
  limitBodyTo(MAX_WEBHOOK_BYTES),
  async (c) => {
    // Only the vars this route uses (not the JSON API's middleware, which parses them all).
    const config = parseConfigOf(c.env, STRIPE_EVENT_VARS);
    // The signature covers the exact bytes Stripe sent, so the raw text is verified, unparsed.
    const event = await verifyStripeEvent(await c.req.text(), c.req.header("Stripe-Signature"), {
      test: c.env.STRIPE_WEBHOOK_SECRET_TEST,
      live: c.env.STRIPE_WEBHOOK_SECRET_LIVE,
      connectTest: c.env.STRIPE_CONNECT_WEBHOOK_SECRET_TEST,
      connectLive: c.env.STRIPE_CONNECT_WEBHOOK_SECRET_LIVE,
    });
    const { outcome, after, origin } = await applyStripeEvent(
      {
        db: c.env.DB,
        now: nowSeconds,
        nowMs,
        stripeFor: stripeGatewaysFor(c.env, config),
        resyncHours: config.BILLING_RESYNC_HOURS,
      },
      event,
    );
    // The app's events it wrote go to the queue after the commit; what fails here, the sweep sends.
    const producer = {
      db: c.env.DB,
      queue: c.env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
      now: nowSeconds,
    };
    if (origin) c.executionCtx.waitUntil(enqueueOrigin(producer, origin).catch(() => 0));
    // The event is recorded; its follow-up runs after the answer and can never undo that (a
    // failure is on the record, and the cron tries again).
    if (after) {
      const enqueued = after().then((origins) =>
        Promise.all(origins.map((o) => enqueueOrigin(producer, o).catch(() => 0))),
      );
      c.executionCtx.waitUntil(enqueued.catch(logFollowUpFailure));
    }
    return c.json(
      successEnvelope(OUTCOME_MESSAGES[outcome], { received: true, eventId: event.id, outcome }),
      200,
    );
  },
);

/** A follow-up that could not even record its outcome (D1 failing): the cron runs it again. */
function logFollowUpFailure(err: unknown): void {
  const error = errorForLog(err, 300);
  console.error(JSON.stringify({ followUp: "not recorded; the cron retries it", error }));
}
