import * as z from "zod";
import { CONTROL_CHARACTER } from "../control-characters.ts";

/**
 * Outbound webhooks: the event types, and the inputs of the endpoint, event and delivery routes.
 * The answers are in outbound-views.ts.
 */

const doc = <T extends z.ZodType>(schema: T, description: string): T =>
  schema.meta({ description });

/** Every event the service sends to apps (SPEC: "Notifying the app"). */
export const OUTBOUND_EVENT_TYPES = [
  "checkout.completed",
  "checkout.expired",
  "checkout.payment_succeeded",
  "checkout.payment_failed",
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "invoice.paid",
  "invoice.payment_failed",
  "payment.refunded",
  "payment.refund_failed",
] as const;

export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];

/** An event type, refused in words that name the field it came in. */
const eventTypeOf = (error: string) =>
  doc(
    z.enum(OUTBOUND_EVENT_TYPES, { error: `${error} ${OUTBOUND_EVENT_TYPES.join(", ")}` }),
    `One of ${OUTBOUND_EVENT_TYPES.join(", ")}`,
  );

export const outboundEventTypeSchema = eventTypeOf("must be one of");

/** At most this long, as browsers and most servers take URLs. */
export const MAX_URL_LENGTH = 2048;

const unknownFields = (issue: z.core.$ZodRawIssue) =>
  issue.code === "unrecognized_keys"
    ? `Unknown field${issue.keys.length > 1 ? "s" : ""} in body: ${issue.keys.join(", ")}`
    : "Request body must be a JSON object";

const unknownQuery = (issue: z.core.$ZodRawIssue) =>
  issue.code === "unrecognized_keys"
    ? `Unknown query parameter: ${issue.keys.join(", ")}`
    : "Invalid query";

/** A webhook endpoint's id, and an event's, named as the caller wrote them. */
const endpointIdOf = (what: string) =>
  z.string().regex(/^we_[A-Za-z0-9]{24}$/, `${what} must be a webhook endpoint id (we_…)`);
const eventIdOf = (what: string) =>
  z.string().regex(/^evt_[0-9a-f]{32}$/, `${what} must be a webhook event id (evt_…)`);

const urlField = doc(
  z
    .string({ error: "url must be a string" })
    .min(1, "url must not be empty")
    .max(MAX_URL_LENGTH, `url is too long (at most ${MAX_URL_LENGTH} characters)`),
  "Where the events are POSTed: https on a public host name, the standard port, no IP address, no user or password (http to a loopback host only in local development, test mode)",
);

const eventTypesField = doc(
  z
    .array(eventTypeOf("eventTypes must name event types:"), {
      error: "eventTypes must be a list of event types",
    })
    .min(1, "eventTypes must name at least one event type (leave it out for all of them)")
    .max(OUTBOUND_EVENT_TYPES.length, "eventTypes names an event type twice")
    .refine(
      (types) => new Set(types).size === types.length,
      "eventTypes names an event type twice",
    ),
  "The event types this endpoint receives; absent or null: all of them",
);

const descriptionField = doc(
  z
    .string({ error: "description must be a string" })
    .trim()
    .max(200, "description is too long (at most 200 characters)")
    .refine(
      (text) => !CONTROL_CHARACTER.test(text),
      "description must not contain control characters (line breaks, tabs, escape sequences, bidi or zero-width characters)",
    ),
  "A note for the app's developers (at most 200 characters, one line of plain text: no control, bidi or zero-width characters)",
);

export const createEndpointBodySchema = z
  .strictObject(
    {
      url: urlField,
      test: doc(
        z.boolean({ error: "test must be true or false" }).optional().default(false),
        "true: receives test-mode events; false (the default): live-mode events",
      ),
      eventTypes: eventTypesField.optional(),
      description: descriptionField.optional(),
    },
    { error: unknownFields },
  )
  .meta({ description: "A webhook endpoint to register for the calling app" });

export type CreateEndpointBody = z.output<typeof createEndpointBodySchema>;

export const updateEndpointBodySchema = z
  .strictObject(
    {
      url: urlField.optional(),
      eventTypes: eventTypesField.nullable().optional(),
      description: descriptionField.nullable().optional(),
      enabled: doc(
        z.boolean({ error: "enabled must be true or false" }).optional(),
        "false: stop sending to it (pending deliveries are canceled); true: send again, and forget its failures",
      ),
    },
    { error: unknownFields },
  )
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    error: "Nothing to change: give url, eventTypes, description or enabled",
    // Only for a body that is otherwise right (an unknown field is its own, only, error).
    when: (payload) => payload.issues.length === 0,
  })
  .meta({ description: "The fields to change; the others stay as they are" });

export type UpdateEndpointBody = z.output<typeof updateEndpointBodySchema>;

export const redeliverBodySchema = z
  .strictObject(
    {
      endpointId: doc(
        endpointIdOf("endpointId").optional(),
        "Only to this endpoint; absent: to every enabled endpoint that takes the event's type",
      ),
    },
    { error: unknownFields },
  )
  .meta({ description: "Where to send the event again" });

export type RedeliverBody = z.output<typeof redeliverBodySchema>;

export const endpointParamSchema = z.object({
  id: doc(endpointIdOf("id in the path"), "The webhook endpoint's id (we_…)"),
});

export const eventParamSchema = z.object({
  id: doc(eventIdOf("id in the path"), "The event's id (evt_…), its webhook-id header"),
});

const testQuery = doc(
  z
    .enum(["true", "false"], { error: "test must be true or false" })
    .optional()
    .transform((value) => value === "true"),
  "true: test mode; false (the default): live mode",
);

const limitQuery = doc(
  z
    .string()
    .regex(/^\d{1,3}$/, "limit must be a whole number from 1 to 100")
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, "limit must be from 1 to 100")
        .max(100, "limit must be from 1 to 100"),
    )
    .optional()
    .transform((value) => value ?? 50),
  "At most this many (1…100, default 50)",
);

const cursorQuery = doc(
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "cursor must be a nextCursor this API returned")
    .optional(),
  "The previous page's nextCursor",
);

export const listEndpointsQuerySchema = z.strictObject(
  { test: testQuery },
  { error: unknownQuery },
);

export const listEventsQuerySchema = z.strictObject(
  {
    test: testQuery,
    since: doc(
      z.iso
        .datetime({
          offset: true,
          error: "since must be a time in ISO 8601 (2026-12-01T10:00:00Z)",
        })
        .optional(),
      "Only events created at or after this time (ISO 8601)",
    ),
    type: eventTypeOf("type must be one of").optional(),
    limit: limitQuery,
    cursor: cursorQuery,
  },
  { error: unknownQuery },
);

export type ListEventsQuery = z.output<typeof listEventsQuerySchema>;

export const listDeliveriesQuerySchema = z
  .strictObject(
    {
      eventId: doc(eventIdOf("eventId").optional(), "The deliveries of this event"),
      endpointId: doc(endpointIdOf("endpointId").optional(), "The deliveries to this endpoint"),
      limit: limitQuery,
      cursor: cursorQuery,
    },
    { error: unknownQuery },
  )
  .refine((query) => (query.eventId === undefined) !== (query.endpointId === undefined), {
    error: "Give exactly one of eventId and endpointId",
    when: (payload) => payload.issues.length === 0,
  });

export type ListDeliveriesQuery = z.output<typeof listDeliveriesQuerySchema>;
