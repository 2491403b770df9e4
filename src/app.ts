import { Hono } from "hono";
import { except } from "hono/combine";
import { requestId } from "hono/request-id";
import type { HonoEnv } from "./env.ts";
import { ApiError, renderError, toApiError } from "./errors.ts";
import { MESSAGES } from "./messages.ts";
import { loadConfig } from "./middleware/config.ts";
import { browserCors } from "./middleware/cors.ts";
import { logRequests } from "./middleware/logging.ts";
import { answerMethodNotAllowed } from "./middleware/method-not-allowed.ts";
import { noStore } from "./middleware/no-store.ts";
import { billingRoutes } from "./routes/billing.ts";
import { checkoutSessionRoutes } from "./routes/checkout-sessions.ts";
import { docsRoutes } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { paymentPageRoutes } from "./routes/payment-page.ts";
import { portalRoutes } from "./routes/portal.ts";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints.ts";
import { webhookEventRoutes } from "./routes/webhook-events.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

export function createApp() {
  const app = new Hono<HonoEnv>();

  // A caller's X-Request-Id is kept when it is short and plain; otherwise a new one is made.
  app.use(requestId({ headerName: "X-Request-Id", limitLength: 128 }));
  app.use(logRequests);
  // The Stripe event route parses only the vars it uses itself (src/routes/webhooks.ts).
  app.use("/api/v1/*", noStore, except("/api/v1/webhooks/stripe", loadConfig), browserCors);

  app.route("/", healthRoutes);
  app.route("/", docsRoutes);
  app.route("/", paymentPageRoutes);
  app.route("/api/v1", checkoutSessionRoutes);
  app.route("/api/v1", webhookRoutes);
  app.route("/api/v1", billingRoutes);
  app.route("/api/v1", portalRoutes);
  app.route("/api/v1", webhookEndpointRoutes);
  app.route("/api/v1", webhookEventRoutes);
  app.use(answerMethodNotAllowed(app));

  app.notFound((c) =>
    renderError(
      c,
      new ApiError(
        "not_found",
        MESSAGES.notFound(c.req.method, Array.from(c.req.path).slice(0, 200).join("")),
      ),
    ),
  );
  app.onError((err, c) => renderError(c, toApiError(err)));
  return app;
}
