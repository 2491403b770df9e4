import { createApp } from "./app.ts";
import { nowMs, nowSeconds } from "./clock.ts";
import { MAINTENANCE_VARS, parseConfig, parseConfigOf } from "./config.ts";
import type { DeliveryMessage } from "./db/deliveries.ts";
import type { Bindings } from "./env.ts";
import { runMaintenance } from "./maintenance.ts";
import { consumeDeadLetters, consumeDeliveries, DEAD_LETTER_QUEUE } from "./outbound/consumer.ts";
import { stripeGatewaysFor } from "./stripe/gateways.ts";

const app = createApp();

export default {
  fetch: app.fetch,

  async scheduled(controller, env) {
    const started = Date.now();
    const config = parseConfigOf(env, MAINTENANCE_VARS);
    const scheduledAt = Math.floor(controller.scheduledTime / 1000);
    const result = await runMaintenance({
      db: env.DB,
      config,
      stripeFor: stripeGatewaysFor(env, config),
      queue: env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
      now: () => scheduledAt,
      nowMs,
    });
    console.info(
      JSON.stringify({ scheduled: controller.cron, durationMs: Date.now() - started, ...result }),
    );
  },

  // Outbound webhooks: attempts of deliveries, and the messages Queues gave up on.
  async queue(batch, env) {
    if (batch.queue === DEAD_LETTER_QUEUE) {
      await consumeDeadLetters(batch, { db: env.DB, now: nowSeconds });
      return;
    }
    let config: ReturnType<typeof parseConfig>;
    try {
      config = parseConfig(env);
    } catch (err) {
      // A misconfigured var names itself; the deliveries wait for the operator's fix.
      console.error(JSON.stringify({ webhooks: "not attempted", error: String(err) }));
      batch.retryAll({ delaySeconds: 300 });
      return;
    }
    await consumeDeliveries(batch, {
      db: env.DB,
      config,
      encryptionKey: env.WEBHOOK_ENCRYPTION_KEY,
      now: nowSeconds,
      nowMs,
    });
  },
} satisfies ExportedHandler<Bindings>;
