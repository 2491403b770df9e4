import { createApp } from "./app.ts";
import { type Bindings, parseConfig } from "./env.ts";
import { runMaintenance } from "./maintenance.ts";

const app = createApp();

export default {
  fetch: app.fetch,

  async scheduled(controller, env) {
    const started = Date.now();
    const result = await runMaintenance(
      env.DB,
      parseConfig(env),
      Math.floor(controller.scheduledTime / 1000),
    );
    console.info(
      JSON.stringify({ scheduled: controller.cron, durationMs: Date.now() - started, ...result }),
    );
  },
} satisfies ExportedHandler<Bindings>;
