import { type Context, Hono } from "hono";
import { authenticate } from "../auth/middleware.ts";
import { nowSeconds } from "../clock.ts";
import type { AuthenticatedEnv, HonoEnv } from "../env.ts";
import { successEnvelope } from "../errors.ts";
import { limitBody } from "../middleware/limit-body.ts";
import { validate, validateJsonBody } from "../middleware/validation.ts";
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointDeps,
  listAppEndpoints,
  rotateSecret,
  showEndpoint,
  updateEndpoint,
} from "../outbound/endpoints.ts";
import {
  createEndpointBodySchema,
  endpointParamSchema,
  listEndpointsQuerySchema,
  updateEndpointBodySchema,
} from "../schemas/outbound.ts";

/** The app's own configuration: API keys only (a browser's token may not change where events go). */
const reader = authenticate({ write: false, tokens: false });
const writer = authenticate({ write: true, tokens: false });

function deps(c: Context<AuthenticatedEnv>): EndpointDeps {
  return {
    db: c.env.DB,
    allowLoopback: c.get("config").WEBHOOK_ALLOW_LOOPBACK,
    encryptionKey: c.env.WEBHOOK_ENCRYPTION_KEY,
    now: nowSeconds,
  };
}

export const webhookEndpointRoutes = new Hono<HonoEnv>()
  .post(
    "/webhook-endpoints",
    limitBody,
    writer,
    validateJsonBody(createEndpointBodySchema),
    async (c) => {
      const endpoint = await createEndpoint(deps(c), c.get("app"), c.req.valid("json"));
      return c.json(successEnvelope("Webhook endpoint created", { endpoint }), 201);
    },
  )
  .get("/webhook-endpoints", reader, validate("query", listEndpointsQuerySchema), async (c) => {
    const endpoints = await listAppEndpoints(deps(c), c.get("app"), !c.req.valid("query").test);
    return c.json(successEnvelope("Webhook endpoints found", { endpoints }), 200);
  })
  .get("/webhook-endpoints/:id", reader, validate("param", endpointParamSchema), async (c) => {
    const endpoint = await showEndpoint(deps(c), c.get("app"), c.req.valid("param").id);
    return c.json(successEnvelope("Webhook endpoint found", { endpoint }), 200);
  })
  .patch(
    "/webhook-endpoints/:id",
    limitBody,
    writer,
    validate("param", endpointParamSchema),
    validateJsonBody(updateEndpointBodySchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const endpoint = await updateEndpoint(deps(c), c.get("app"), id, c.req.valid("json"));
      return c.json(successEnvelope("Webhook endpoint updated", { endpoint }), 200);
    },
  )
  .post(
    "/webhook-endpoints/:id/rotate-secret",
    limitBody,
    writer,
    validate("param", endpointParamSchema),
    async (c) => {
      const endpoint = await rotateSecret(deps(c), c.get("app"), c.req.valid("param").id);
      return c.json(successEnvelope("Webhook signing secret rotated", { endpoint }), 200);
    },
  )
  .delete("/webhook-endpoints/:id", writer, validate("param", endpointParamSchema), async (c) => {
    await deleteEndpoint(deps(c), c.get("app"), c.req.valid("param").id);
    return c.json(successEnvelope("Webhook endpoint deleted", { deleted: true as const }), 200);
  });
