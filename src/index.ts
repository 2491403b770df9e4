import { createApp } from "./app.ts";
import { nowMs } from "./clock.ts";
import { parseConfig } from "./config.ts";
import type { Bindings } from "./env.ts";
import { runMaintenance } from "./maintenance.ts";
import { stripeGatewaysFor } from "./stripe/gateways.ts";

const app = createApp();

export default {
  fetch: app.fetch,

  async scheduled(controller, env) {
    const started = Date.now();
    const config = parseConfig(env);
    const scheduledAt = Math.floor(controller.scheduledTime / 1000);
    const result = await runMaintenance({
      db: env.DB,
      config,
      stripeFor: stripeGatewaysFor(env, config),
      now: () => scheduledAt,
      nowMs,
    });
    console.info(
      JSON.stringify({ scheduled: controller.cron, durationMs: Date.now() - started, ...result }),
    );
  },
} satisfies ExportedHandler<Bindings>;
