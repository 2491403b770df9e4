import * as z from "zod";
import {
  createEndpointBodySchema,
  redeliverBodySchema,
  updateEndpointBodySchema,
} from "../schemas/outbound.ts";
import {
  deliveryListAnswerSchema,
  endpointAnswerSchema,
  endpointListAnswerSchema,
  endpointWithSecretAnswerSchema,
  eventListAnswerSchema,
  outboundEventSchema,
  redeliverAnswerSchema,
} from "../schemas/outbound-views.ts";
import { jsonSchema } from "./json-schema.ts";
import type { JsonSchema } from "./types.ts";

/**
 * The document's schemas of the outbound webhook routes: the bodies are the routes' own
 * validators, the answers the schemas of src/schemas/outbound-views.ts (whose outputs the
 * services return) in the success envelope that successEnvelope (src/errors.ts) writes.
 */

export function answerEnvelope<T extends z.ZodType>(data: T, description: string) {
  return z
    .object({
      success: z.literal(true),
      message: z.string().meta({ description: "What happened, in words" }),
      error: z.null(),
      data,
    })
    .meta({ description });
}

/** DELETE's answer; the route writes it as it is (`{ deleted: true }`). */
export const deletedAnswerSchema = z.object({ deleted: z.literal(true) });

export function webhookSchemas(): Record<string, JsonSchema> {
  return {
    CreateWebhookEndpointBody: jsonSchema(createEndpointBodySchema),
    UpdateWebhookEndpointBody: jsonSchema(updateEndpointBodySchema),
    RedeliverBody: jsonSchema(redeliverBodySchema),
    WebhookEndpointResponse: jsonSchema(
      answerEnvelope(endpointAnswerSchema, "The success envelope with data.endpoint"),
    ),
    WebhookEndpointWithSecretResponse: jsonSchema(
      answerEnvelope(
        endpointWithSecretAnswerSchema,
        "The success envelope with data.endpoint, including its signing secret (shown only in this answer)",
      ),
    ),
    WebhookEndpointListResponse: jsonSchema(
      answerEnvelope(endpointListAnswerSchema, "The success envelope with data.endpoints"),
    ),
    WebhookEndpointDeletedResponse: jsonSchema(
      answerEnvelope(
        deletedAnswerSchema,
        "The endpoint, its deliveries and their attempts are gone",
      ),
    ),
    WebhookEventListResponse: jsonSchema(
      answerEnvelope(eventListAnswerSchema, "The success envelope with data.events, oldest first"),
    ),
    WebhookDeliveryListResponse: jsonSchema(
      answerEnvelope(
        deliveryListAnswerSchema,
        "The success envelope with data.deliveries, newest first",
      ),
    ),
    RedeliverResponse: jsonSchema(
      answerEnvelope(
        redeliverAnswerSchema,
        "The success envelope with data.deliveries: the new rounds, due now",
      ),
    ),
    OutboundEvent: jsonSchema(outboundEventSchema),
  };
}
