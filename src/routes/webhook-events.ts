import { Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { nowSeconds } from "../clock.ts";
import type { DeliveryMessage } from "../db/deliveries.ts";
import type { HonoEnv } from "../env.ts";
import { successEnvelope } from "../errors.ts";
import { limitBody } from "../middleware/limit-body.ts";
import { validate, validateJsonBody } from "../middleware/validation.ts";
import { listAppDeliveries, listAppEvents, redeliverEvent } from "../outbound/history.ts";
import { enqueueRedelivered } from "../outbound/producer.ts";
import {
  eventParamSchema,
  listDeliveriesQuerySchema,
  listEventsQuerySchema,
  redeliverBodySchema,
} from "../schemas/outbound.ts";

/** What the app was told and how each attempt went; sending an event again. API keys only. */
const reader = authenticate({ write: false, tokens: false });
const writer = authenticate({ write: true, tokens: false });

export const webhookEventRoutes = new Hono<HonoEnv>()
  .get("/webhook-events", reader, validate("query", listEventsQuerySchema), async (c) => {
    const page = await listAppEvents(c.env.DB, c.get("app"), c.req.valid("query"));
    return c.json(successEnvelope("Webhook events found", page), 200);
  })
  .get("/webhook-deliveries", reader, validate("query", listDeliveriesQuerySchema), async (c) => {
    const page = await listAppDeliveries(c.env.DB, c.get("app"), c.req.valid("query"));
    return c.json(successEnvelope("Webhook deliveries found", page), 200);
  })
  .post(
    "/webhook-events/:id/redeliver",
    limitBody,
    writer,
    validate("param", eventParamSchema),
    validateJsonBody(redeliverBodySchema, { optional: true }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { deliveries, endpointIds } = await redeliverEvent(
        { db: c.env.DB, now: nowSeconds },
        c.get("app"),
        id,
        c.req.valid("json"),
      );
      // Handed to the queue after the answer; if that fails, the cron's sweep sends them.
      const producer = {
        db: c.env.DB,
        queue: c.env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
        now: nowSeconds,
      };
      c.executionCtx.waitUntil(enqueueRedelivered(producer, id, endpointIds).catch(() => 0));
      return c.json(successEnvelope("Webhook event redelivering", { deliveries }), 202);
    },
  );
