import type * as z from "zod";
import type { AppRecord } from "../src/apps/records.ts";
import { nowSeconds } from "../src/clock.ts";
import { parseConfig } from "../src/config.ts";
import { listEndpoints } from "../src/db/webhook-endpoints.ts";
import { ApiError } from "../src/errors.ts";
import { MESSAGES } from "../src/messages.ts";
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointDeps,
  listAppEndpoints,
  rotateSecret,
  showEndpoint,
  updateEndpoint,
} from "../src/outbound/endpoints.ts";
import { listAppDeliveries, listAppEvents, redeliverEvent } from "../src/outbound/history.ts";
import { enqueueRedelivered } from "../src/outbound/producer.ts";
import { decryptSecret } from "../src/outbound/secrets.ts";
import { checkEndpointUrl } from "../src/outbound/url-rules.ts";
import {
  createEndpointBodySchema,
  endpointParamSchema,
  eventParamSchema,
  listDeliveriesQuerySchema,
  listEventsQuerySchema,
  redeliverBodySchema,
  updateEndpointBodySchema,
} from "../src/schemas/outbound.ts";
import type {
  DeliveryView,
  EndpointView,
  EndpointWithSecret,
  OutboundEvent,
} from "../src/schemas/outbound-views.ts";
import { loadApp } from "./apps.ts";
import type { Deps } from "./deps.ts";
import { CommandError, UsageError } from "./errors.ts";
import { appIdSchema, check } from "./parsing.ts";
import type { CliBindings } from "./platform.ts";

/**
 * An app's outbound webhooks for the operator: its endpoints, its events and their deliveries,
 * sending an event again. Every input is checked with the schemas the HTTP routes validate with
 * (src/schemas/outbound.ts) before the bindings are opened; the work is the service layer's
 * (src/outbound/endpoints.ts, history.ts), which the routes call too.
 */

/**
 * An API message that starts with its field's name (`url must …`), with the CLI's name for the
 * field instead (`--url must …`).
 */
function renamed(message: string, api: string, cli: string): string {
  return message.startsWith(`${api} `)
    ? `${cli}${message.slice(api.length)}`
    : `${cli}: ${message}`;
}

/**
 * Parses with one of the API's schemas and names the CLI's flag (or argument) instead of the
 * API's field: `field` → `--flag`, or `[apiWording, cliName]` for a field whose messages start
 * with other words (a path parameter's "id in the path").
 */
function checkApi<S extends z.ZodType>(
  schema: S,
  input: unknown,
  names: Record<string, string | [api: string, cli: string]>,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data as z.output<S>;
  const messages = new Set(
    result.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? "");
      const name = names[field];
      if (name === undefined) return issue.message;
      const [api, cli] = typeof name === "string" ? [field, name] : name;
      return renamed(issue.message, api, cli);
    }),
  );
  throw new UsageError([...messages].join("; "));
}

const checkEndpointId = (id: string): string =>
  checkApi(endpointParamSchema, { id }, { id: ["id in the path", "ENDPOINT_ID"] }).id;

const checkEventId = (id: string): string =>
  checkApi(eventParamSchema, { id }, { id: ["id in the path", "EVENT_ID"] }).id;

/**
 * The no-SSRF rules at their most lenient (loopback allowed, as in local development): a URL
 * they refuse is refused whatever the config says, so before anything is opened. The service
 * applies the configured rules again (WEBHOOK_ALLOW_LOOPBACK), which only the bindings know.
 */
function checkUrlAtAll(url: string, livemode: boolean): void {
  const verdict = checkEndpointUrl(url, { livemode, allowLoopback: true });
  if (!verdict.ok) throw new UsageError(renamed(verdict.reason, "url", "--url"));
}

const secondsOf = (deps: Deps) => () =>
  deps.now ? Math.floor(deps.now().getTime() / 1000) : nowSeconds();

/** The service's refusals (ApiError) and D1's failures, as "could not be done" (exit code 1). */
async function carryOut<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UsageError || err instanceof CommandError) throw err;
    if (err instanceof ApiError) throw new CommandError(err.message);
    const reason = err instanceof Error ? err.message : String(err);
    throw new CommandError(
      `could not reach the webhook tables in D1 (are the migrations applied? npm run db:migrate): ${reason}`,
    );
  }
}

type Opened = { bindings: CliBindings; app: AppRecord };

async function openApp(deps: Deps, appId: string): Promise<Opened> {
  const bindings = await deps.bindings();
  return { bindings, app: await loadApp(bindings.APPS, appId) };
}

function endpointDeps(deps: Deps, { bindings }: Opened): EndpointDeps {
  let allowLoopback: boolean;
  try {
    allowLoopback = parseConfig(bindings.vars).WEBHOOK_ALLOW_LOOPBACK;
  } catch (err) {
    throw new CommandError(err instanceof Error ? err.message : String(err));
  }
  return {
    db: bindings.DB,
    allowLoopback,
    encryptionKey: bindings.vars.WEBHOOK_ENCRYPTION_KEY,
    now: secondsOf(deps),
  };
}

/**
 * Before a new signing secret is encrypted: the key must be there, and must open the app's
 * stored secrets (if it has any). A key that is not the worker's (a typo in the shell for
 * --remote) would otherwise store a secret the worker cannot open, and every delivery would fail.
 */
async function checkEncryptionKey(deps: EndpointDeps, app: AppRecord): Promise<void> {
  if (!deps.encryptionKey) {
    throw new CommandError(
      "WEBHOOK_ENCRYPTION_KEY is not set: locally put it in .dev.vars (see .dev.vars.example); " +
        "with --remote set it in the shell, the same value as the worker's secret",
    );
  }
  const stored = [
    ...(await listEndpoints(deps.db, app.id, false)),
    ...(await listEndpoints(deps.db, app.id, true)),
  ];
  if (stored.length === 0) return;
  for (const endpoint of stored) {
    const opened = await decryptSecret(deps.encryptionKey, endpoint.id, endpoint.secret).then(
      () => true,
      (err: unknown) => {
        // Any other failure (a malformed key) is the service's to name.
        if (err instanceof ApiError && err.message === MESSAGES.encryptionKeyDoesNotOpen) {
          return false;
        }
        throw err;
      },
    );
    if (opened) return;
  }
  throw new CommandError(
    `WEBHOOK_ENCRYPTION_KEY does not open the signing secrets stored for app ${app.id}: it is not ` +
      "the key the worker uses (locally .dev.vars, with --remote the value in the shell); nothing was changed",
  );
}

const ENDPOINT_FIELDS = {
  url: "--url",
  eventTypes: "--event-type",
  description: "--description",
  enabled: "--enable/--disable",
};

export type CreateEndpointInput = {
  appId: string;
  url: string;
  test: boolean;
  eventTypes?: string[];
  description?: string;
};

export async function createWebhookEndpoint(
  deps: Deps,
  input: CreateEndpointInput,
): Promise<EndpointWithSecret & { appId: string }> {
  const appId = check(appIdSchema, input.appId, "--app");
  const body = checkApi(
    createEndpointBodySchema,
    {
      url: input.url,
      test: input.test,
      eventTypes: input.eventTypes,
      description: input.description,
    },
    ENDPOINT_FIELDS,
  );
  checkUrlAtAll(body.url, !body.test);
  const opened = await openApp(deps, appId);
  const service = endpointDeps(deps, opened);
  return carryOut(async () => {
    await checkEncryptionKey(service, opened.app);
    return { appId, ...(await createEndpoint(service, opened.app, body)) };
  });
}

export async function listWebhookEndpoints(
  deps: Deps,
  input: { appId: string; test: boolean },
): Promise<{ appId: string; livemode: boolean; endpoints: EndpointView[] }> {
  const appId = check(appIdSchema, input.appId, "--app");
  const opened = await openApp(deps, appId);
  const service = endpointDeps(deps, opened);
  const endpoints = await carryOut(() => listAppEndpoints(service, opened.app, !input.test));
  return { appId, livemode: !input.test, endpoints };
}

export async function showWebhookEndpoint(
  deps: Deps,
  input: { appId: string; endpointId: string },
): Promise<EndpointView & { appId: string }> {
  const appId = check(appIdSchema, input.appId, "--app");
  const id = checkEndpointId(input.endpointId);
  const opened = await openApp(deps, appId);
  const service = endpointDeps(deps, opened);
  return { appId, ...(await carryOut(() => showEndpoint(service, opened.app, id))) };
}

export type UpdateEndpointInput = {
  appId: string;
  endpointId: string;
  url?: string;
  eventTypes?: string[];
  allEventTypes?: boolean;
  /** A text, or "none" for none. */
  description?: string;
  enable?: boolean;
  disable?: boolean;
};

export async function updateWebhookEndpoint(
  deps: Deps,
  input: UpdateEndpointInput,
): Promise<EndpointView & { appId: string }> {
  const appId = check(appIdSchema, input.appId, "--app");
  const id = checkEndpointId(input.endpointId);
  if (input.eventTypes !== undefined && input.allEventTypes) {
    throw new UsageError("--event-type and --all-event-types cannot be combined");
  }
  if (input.enable && input.disable) {
    throw new UsageError("--enable and --disable cannot be combined");
  }
  const raw = {
    url: input.url,
    eventTypes: input.allEventTypes ? null : input.eventTypes,
    description: input.description === "none" ? null : input.description,
    enabled: input.enable ? true : input.disable ? false : undefined,
  };
  if (Object.values(raw).every((value) => value === undefined)) {
    throw new UsageError(
      "nothing to change: give --url, --event-type, --all-event-types, --description, --enable or --disable",
    );
  }
  const body = checkApi(updateEndpointBodySchema, raw, ENDPOINT_FIELDS);
  // The endpoint's mode is known only once it is read: here the more lenient one (test).
  if (body.url !== undefined) checkUrlAtAll(body.url, false);
  const opened = await openApp(deps, appId);
  const service = endpointDeps(deps, opened);
  return { appId, ...(await carryOut(() => updateEndpoint(service, opened.app, id, body))) };
}

export async function rotateWebhookSecret(
  deps: Deps,
  input: { appId: string; endpointId: string },
): Promise<EndpointWithSecret & { appId: string }> {
  const appId = check(appIdSchema, input.appId, "--app");
  const id = checkEndpointId(input.endpointId);
  const opened = await openApp(deps, appId);
  const service = endpointDeps(deps, opened);
  return carryOut(async () => {
    // An unknown endpoint is named as such, before the key is looked at.
    await showEndpoint(service, opened.app, id);
    await checkEncryptionKey(service, opened.app);
    return { appId, ...(await rotateSecret(service, opened.app, id)) };
  });
}

export async function deleteWebhookEndpoint(
  deps: Deps,
  input: { appId: string; endpointId: string },
): Promise<{ id: string; appId: string; deleted: true }> {
  const appId = check(appIdSchema, input.appId, "--app");
  const id = checkEndpointId(input.endpointId);
  const opened = await openApp(deps, appId);
  const service = endpointDeps(deps, opened);
  await carryOut(() => deleteEndpoint(service, opened.app, id));
  return { id, appId, deleted: true };
}

export type ListEventsInput = {
  appId: string;
  test: boolean;
  since?: string;
  type?: string;
  limit?: string;
  cursor?: string;
};

export async function listWebhookEvents(
  deps: Deps,
  input: ListEventsInput,
): Promise<{
  appId: string;
  livemode: boolean;
  events: OutboundEvent[];
  nextCursor: string | null;
}> {
  const appId = check(appIdSchema, input.appId, "--app");
  const query = checkApi(
    listEventsQuerySchema,
    {
      test: input.test ? "true" : undefined,
      since: input.since,
      type: input.type,
      limit: input.limit,
      cursor: input.cursor,
    },
    { since: "--since", type: "--type", limit: "--limit", cursor: "--cursor" },
  );
  const { bindings, app } = await openApp(deps, appId);
  const page = await carryOut(() => listAppEvents(bindings.DB, app, query));
  return { appId, livemode: !query.test, ...page };
}

export type ListDeliveriesInput = {
  appId: string;
  eventId?: string;
  endpointId?: string;
  limit?: string;
  cursor?: string;
};

export async function listWebhookDeliveries(
  deps: Deps,
  input: ListDeliveriesInput,
): Promise<{ appId: string; deliveries: DeliveryView[]; nextCursor: string | null }> {
  const appId = check(appIdSchema, input.appId, "--app");
  if ((input.eventId === undefined) === (input.endpointId === undefined)) {
    throw new UsageError("give exactly one of --event and --endpoint");
  }
  const query = checkApi(
    listDeliveriesQuerySchema,
    {
      eventId: input.eventId,
      endpointId: input.endpointId,
      limit: input.limit,
      cursor: input.cursor,
    },
    { eventId: "--event", endpointId: "--endpoint", limit: "--limit", cursor: "--cursor" },
  );
  const { bindings, app } = await openApp(deps, appId);
  return { appId, ...(await carryOut(() => listAppDeliveries(bindings.DB, app, query))) };
}

export type Redelivered = {
  appId: string;
  eventId: string;
  deliveries: DeliveryView[];
  /**
   * How many were handed to the queue now; null when there is no queue binding here (--remote),
   * and the cron's sweep hands them over.
   */
  sentToQueue: number | null;
};

export async function redeliverWebhookEvent(
  deps: Deps,
  input: { appId: string; eventId: string; endpointId?: string },
): Promise<Redelivered> {
  const appId = check(appIdSchema, input.appId, "--app");
  const eventId = checkEventId(input.eventId);
  const body = checkApi(
    redeliverBodySchema,
    { endpointId: input.endpointId },
    { endpointId: "--endpoint" },
  );
  const { bindings, app } = await openApp(deps, appId);
  const now = secondsOf(deps);
  const { deliveries, endpointIds } = await carryOut(() =>
    redeliverEvent({ db: bindings.DB, now }, app, eventId, body),
  );
  const queue = bindings.WEBHOOK_DELIVERIES;
  // As the route does: what cannot be handed over now (the queue failing) the sweep sends.
  const sentToQueue = queue
    ? await enqueueRedelivered({ db: bindings.DB, queue, now }, eventId, endpointIds).catch(() => 0)
    : null;
  return { appId, eventId, deliveries, sentToQueue };
}
