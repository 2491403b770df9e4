import type { DeliveryView, EndpointView, OutboundEvent } from "../src/schemas/outbound-views.ts";
import type { Command, ValuesOf } from "./command.ts";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  listWebhookEvents,
  type Redelivered,
  redeliverWebhookEvent,
  rotateWebhookSecret,
  showWebhookEndpoint,
  updateWebhookEndpoint,
} from "./webhooks.ts";

/**
 * The `webhook` group of cli/admin.ts: its flags, usage lines and commands, and how their
 * results read as text. The work is in cli/webhooks.ts.
 */

export const WEBHOOK_USAGE = `  webhook endpoint create --app APP_ID --url URL [--test] [--event-type T]...
             [--description TEXT]
  webhook endpoint list --app APP_ID [--test]
  webhook endpoint show ENDPOINT_ID --app APP_ID
  webhook endpoint update ENDPOINT_ID --app APP_ID [--url URL]
             [--event-type T]... | [--all-event-types] [--description TEXT|none]
             [--enable | --disable]
  webhook endpoint rotate-secret ENDPOINT_ID --app APP_ID
  webhook endpoint delete ENDPOINT_ID --app APP_ID
  webhook events --app APP_ID [--test] [--since ISO] [--type T] [--limit N] [--cursor C]
  webhook deliveries --app APP_ID (--event EVENT_ID | --endpoint ENDPOINT_ID)
             [--limit N] [--cursor C]
  webhook redeliver EVENT_ID --app APP_ID [--endpoint ENDPOINT_ID]
`;

export const WEBHOOK_NOTES = `A webhook endpoint's signing secret is printed once, by \`webhook endpoint create\` and
\`rotate-secret\`; it is stored only encrypted with WEBHOOK_ENCRYPTION_KEY (.dev.vars locally,
the shell with --remote). Without --test, endpoints and events are those of live mode.
`;

/** The flags of the group that the other commands do not have (--app, --type, --limit they share). */
export const WEBHOOK_OPTIONS = {
  url: { type: "string" },
  test: { type: "boolean" },
  "event-type": { type: "string", multiple: true },
  "all-event-types": { type: "boolean" },
  description: { type: "string" },
  enable: { type: "boolean" },
  disable: { type: "boolean" },
  since: { type: "string" },
  cursor: { type: "string" },
  event: { type: "string" },
  endpoint: { type: "string" },
} as const;

type Values = ValuesOf<typeof WEBHOOK_OPTIONS> & { app?: string; type?: string; limit?: string };

export const WEBHOOK_COMMANDS: Record<string, Command<Values>> = {
  "webhook endpoint create": {
    flags: ["app", "url", "test", "event-type", "description"],
    required: ["app", "url"],
    args: 0,
    run: async (deps, values) => {
      const endpoint = await createWebhookEndpoint(deps, {
        appId: values.app ?? "",
        url: values.url ?? "",
        test: values.test ?? false,
        eventTypes: values["event-type"],
        description: values.description,
      });
      const lines = [
        `Created webhook endpoint ${endpoint.id} for app ${endpoint.appId} (${mode(endpoint)} mode).`,
        ...describeEndpoint(endpoint).slice(1),
        ...showSecretOnce(endpoint.secret, endpoint.id, endpoint.appId),
      ];
      return { json: endpoint, lines };
    },
  },
  "webhook endpoint list": {
    flags: ["app", "test"],
    required: ["app"],
    args: 0,
    run: async (deps, values) => {
      const listing = await listWebhookEndpoints(deps, {
        appId: values.app ?? "",
        test: values.test ?? false,
      });
      const which = listing.livemode ? "live" : "test";
      const lines =
        listing.endpoints.length === 0
          ? [`App ${listing.appId} has no webhook endpoints in ${which} mode.`]
          : [
              `Webhook endpoints of app ${listing.appId} (${which} mode):`,
              ...listing.endpoints.map((e) =>
                [e.id, e.status.padEnd(8), e.url, `events: ${eventTypes(e)}`, e.description ?? ""]
                  .join("  ")
                  .trimEnd(),
              ),
            ];
      return { json: listing, lines };
    },
  },
  "webhook endpoint show": {
    flags: ["app"],
    required: ["app"],
    args: 1,
    argName: "ENDPOINT_ID",
    run: async (deps, values, [endpointId = ""]) => {
      const endpoint = await showWebhookEndpoint(deps, { appId: values.app ?? "", endpointId });
      return { json: endpoint, lines: describeEndpoint(endpoint) };
    },
  },
  "webhook endpoint update": {
    flags: ["app", "url", "event-type", "all-event-types", "description", "enable", "disable"],
    required: ["app"],
    args: 1,
    argName: "ENDPOINT_ID",
    run: async (deps, values, [endpointId = ""]) => {
      const endpoint = await updateWebhookEndpoint(deps, {
        appId: values.app ?? "",
        endpointId,
        url: values.url,
        eventTypes: values["event-type"],
        allEventTypes: values["all-event-types"],
        description: values.description,
        enable: values.enable,
        disable: values.disable,
      });
      const note = values.disable
        ? ["Nothing is sent to it until it is enabled again; its pending deliveries were canceled."]
        : values.enable
          ? ["It receives events again, its failures forgotten."]
          : [];
      const lines = [
        `Updated webhook endpoint ${endpoint.id} of app ${endpoint.appId}.`,
        ...describeEndpoint(endpoint).slice(1),
        ...note,
      ];
      return { json: endpoint, lines };
    },
  },
  "webhook endpoint rotate-secret": {
    flags: ["app"],
    required: ["app"],
    args: 1,
    argName: "ENDPOINT_ID",
    run: async (deps, values, [endpointId = ""]) => {
      const endpoint = await rotateWebhookSecret(deps, { appId: values.app ?? "", endpointId });
      const lines = [
        `Rotated the signing secret of webhook endpoint ${endpoint.id} of app ${endpoint.appId}.`,
        ...showSecretOnce(endpoint.secret, endpoint.id, endpoint.appId),
        `The replaced secret still signs every event too until ${endpoint.previousSecretValidUntil}:`,
        "give the receiver the new one before then.",
      ];
      return { json: endpoint, lines };
    },
  },
  "webhook endpoint delete": {
    flags: ["app"],
    required: ["app"],
    args: 1,
    argName: "ENDPOINT_ID",
    run: async (deps, values, [endpointId = ""]) => {
      const deleted = await deleteWebhookEndpoint(deps, { appId: values.app ?? "", endpointId });
      return {
        json: deleted,
        lines: [
          `Deleted webhook endpoint ${deleted.id} of app ${deleted.appId}, with its deliveries and their attempts.`,
        ],
      };
    },
  },
  "webhook events": {
    flags: ["app", "test", "since", "type", "limit", "cursor"],
    required: ["app"],
    args: 0,
    run: async (deps, values) => {
      const page = await listWebhookEvents(deps, {
        appId: values.app ?? "",
        test: values.test ?? false,
        since: values.since,
        type: values.type,
        limit: values.limit,
        cursor: values.cursor,
      });
      const which = page.livemode ? "live" : "test";
      const lines =
        page.events.length === 0
          ? [`App ${page.appId} has no such webhook events in ${which} mode.`]
          : [
              `Webhook events of app ${page.appId} (${which} mode), oldest first:`,
              ...page.events.map(describeEvent),
              ...more(page.nextCursor),
            ];
      return { json: page, lines };
    },
  },
  "webhook deliveries": {
    flags: ["app", "event", "endpoint", "limit", "cursor"],
    required: ["app"],
    args: 0,
    run: async (deps, values) => {
      const page = await listWebhookDeliveries(deps, {
        appId: values.app ?? "",
        eventId: values.event,
        endpointId: values.endpoint,
        limit: values.limit,
        cursor: values.cursor,
      });
      const of = values.event ? `event ${values.event}` : `endpoint ${values.endpoint}`;
      const lines =
        page.deliveries.length === 0
          ? [`App ${page.appId} has no deliveries of ${of}.`]
          : [
              `Deliveries of ${of} (app ${page.appId}), newest first; their attempts newest first:`,
              ...page.deliveries.flatMap(describeDelivery),
              ...more(page.nextCursor),
            ];
      return { json: page, lines };
    },
  },
  "webhook redeliver": {
    flags: ["app", "endpoint"],
    required: ["app"],
    args: 1,
    argName: "EVENT_ID",
    run: async (deps, values, [eventId = ""]) => {
      const result = await redeliverWebhookEvent(deps, {
        appId: values.app ?? "",
        eventId,
        endpointId: values.endpoint,
      });
      return { json: result, lines: describeRedelivered(result) };
    },
  },
};

const mode = (e: EndpointView) => (e.livemode ? "live" : "test");
const eventTypes = (e: EndpointView) => e.eventTypes?.join(", ") ?? "all";
const orNone = (value: string | null, none = "-") => value ?? none;

function describeEndpoint(e: EndpointView & { appId: string }): string[] {
  const status = e.disabled
    ? `disabled (${e.disabled.reason === "failing" ? "every attempt failed for 5 days" : "by the app or an operator"}, since ${e.disabled.at})`
    : e.status;
  const rows: [string, string][] = [
    ["url", e.url],
    ["status", status],
    ["event types", eventTypes(e)],
    ["description", orNone(e.description, "(none)")],
    ["failing since", orNone(e.failingSince)],
    ["consecutive failures", String(e.consecutiveFailures)],
    ["last success", orNone(e.lastSuccessAt)],
    ["old secret signs until", orNone(e.previousSecretValidUntil)],
    ["created", e.createdAt],
    ["updated", e.updatedAt],
  ];
  return [
    `Webhook endpoint ${e.id} of app ${e.appId} (${mode(e)} mode)`,
    ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(24)}${v}`),
  ];
}

function showSecretOnce(secret: string, id: string, appId: string): string[] {
  return [
    "",
    secret,
    "",
    "This signing secret is shown only now: give it to the receiver, which verifies each event's",
    "webhook-signature with it (Standard Webhooks). It is stored only encrypted and cannot be shown",
    `again; if it is lost, run: webhook endpoint rotate-secret ${id} --app ${appId}`,
  ];
}

function describeEvent(event: OutboundEvent): string {
  const object = event.object;
  const objectId = object.kind === "checkout" ? (object.id ?? object.hash) : object.id;
  const tenant = event.tenantId ? `tenant ${event.tenantId}` : "no tenant";
  return `  ${event.id}  ${event.createdAt}  ${event.type}  ${object.kind} ${objectId}  ${tenant}`;
}

function describeDelivery(d: DeliveryView): string[] {
  const state =
    d.status === "pending"
      ? `pending, next attempt ${d.nextAttemptAt}`
      : d.status === "delivered"
        ? `delivered ${d.deliveredAt}`
        : d.status === "dead"
          ? "dead: every attempt failed (redeliver it)"
          : `canceled${d.lastError ? `: ${d.lastError}` : ""}`;
  const attempts = d.attempts.map((a) =>
    [
      `    #${a.attempt}`,
      a.at,
      a.statusCode === null ? "no answer" : String(a.statusCode),
      `${a.durationMs} ms`,
      a.error ?? "",
    ]
      .join("  ")
      .trimEnd(),
  );
  return [
    `  ${d.eventId} → ${d.endpointId}  ${state}  (${d.attemptCount} attempt(s) this round)`,
    ...attempts,
  ];
}

function more(nextCursor: string | null): string[] {
  return nextCursor ? [`More: the same command with --cursor ${nextCursor}`] : [];
}

function describeRedelivered(r: Redelivered): string[] {
  const n = r.deliveries.length;
  const lines = [
    `Redelivering event ${r.eventId} of app ${r.appId} to ${n} endpoint(s): ${r.deliveries.map((d) => d.endpointId).join(", ")}.`,
  ];
  if (r.sentToQueue === null) {
    lines.push(
      "No queue binding here (--remote opens only the APPS and DB bindings): the cron's sweep",
      "hands the deliveries to the queue within about 10 minutes.",
    );
  } else {
    lines.push(
      `Handed ${r.sentToQueue} of them to the local queue WEBHOOK_DELIVERIES: a running \`npm run dev\``,
      "(wrangler dev) sends them now; with none running the messages are dropped, and the sweep of",
      "a later cron run sends the deliveries once they are 15 minutes overdue.",
    );
    if (r.sentToQueue < n) {
      lines.push(
        `${n - r.sentToQueue} could not be handed over: the cron's sweep sends them within about 10 minutes.`,
      );
    }
  }
  return lines;
}
