import type { D1Database } from "@cloudflare/workers-types";
import type { AppRecord } from "../apps/records.ts";
import { randomAlphanumeric } from "../crypto.ts";
import { cancelPendingStatement } from "../db/deliveries.ts";
import {
  deleteEndpointStatements,
  type EndpointPatch,
  type EndpointRecord,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  patchEndpointStatement,
  rotateSecretStatement,
} from "../db/webhook-endpoints.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import type { CreateEndpointBody, UpdateEndpointBody } from "../schemas/outbound.ts";
import type { EndpointView, EndpointWithSecret } from "../schemas/outbound-views.ts";
import { encryptSecret, newSigningSecret } from "./secrets.ts";
import { checkEndpointUrl } from "./url-rules.ts";
import { endpointView } from "./views.ts";

/**
 * An app's webhook endpoints: registered with a URL that passes the no-SSRF rules, a signing
 * secret shown once, an optional list of event types; changed, disabled, rotated, deleted. The
 * routes and the CLI both call these.
 */

/** Per app and mode (Stripe allows 16; ten is plenty for one app's servers). */
export const MAX_ENDPOINTS = 10;
/** After a rotation the replaced secret signs too for this long (SPEC: 24 h). */
const ROTATION_OVERLAP_SECONDS = 86_400;
/** Replaced secrets still signing at once: rotating again within a day keeps the older ones. */
const MAX_PREVIOUS_SECRETS = 3;

export interface EndpointDeps {
  db: D1Database;
  allowLoopback: boolean;
  encryptionKey: string | undefined;
  now: () => number;
}

const mode = (livemode: boolean) => (livemode ? "live" : "test");

function checkedUrl(deps: EndpointDeps, url: string, livemode: boolean): string {
  const verdict = checkEndpointUrl(url, { livemode, allowLoopback: deps.allowLoopback });
  if (!verdict.ok) throw new ApiError("bad_request", verdict.reason);
  return verdict.url.href;
}

async function existing(deps: EndpointDeps, app: AppRecord, id: string): Promise<EndpointRecord> {
  const endpoint = await findEndpoint(deps.db, app.id, id);
  if (!endpoint) throw new ApiError("not_found", MESSAGES.endpointNotFound);
  return endpoint;
}

export async function createEndpoint(
  deps: EndpointDeps,
  app: AppRecord,
  body: CreateEndpointBody,
): Promise<EndpointWithSecret> {
  const livemode = !body.test;
  if (livemode && !app.liveEnabled) throw new ApiError("forbidden", MESSAGES.liveNotEnabled);
  const url = checkedUrl(deps, body.url, livemode);
  const id = `we_${randomAlphanumeric(24)}`;
  const secret = newSigningSecret();
  const now = deps.now();
  const endpoint: EndpointRecord = {
    id,
    appId: app.id,
    livemode,
    url,
    description: body.description || null,
    eventTypes: body.eventTypes ?? null,
    status: "enabled",
    disabledReason: null,
    disabledAt: null,
    secret: await encryptSecret(deps.encryptionKey, id, secret),
    previousSecrets: [],
    failingSince: null,
    consecutiveFailures: 0,
    lastSuccessAt: null,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await insertEndpoint(deps.db, endpoint, MAX_ENDPOINTS))) {
    throw new ApiError("conflict", MESSAGES.endpointLimit(MAX_ENDPOINTS, mode(livemode)));
  }
  return { ...endpointView(endpoint, now), secret };
}

export async function listAppEndpoints(
  deps: EndpointDeps,
  app: AppRecord,
  livemode: boolean,
): Promise<EndpointView[]> {
  const now = deps.now();
  return (await listEndpoints(deps.db, app.id, livemode)).map((e) => endpointView(e, now));
}

export async function showEndpoint(
  deps: EndpointDeps,
  app: AppRecord,
  id: string,
): Promise<EndpointView> {
  return endpointView(await existing(deps, app, id), deps.now());
}

export async function updateEndpoint(
  deps: EndpointDeps,
  app: AppRecord,
  id: string,
  body: UpdateEndpointBody,
): Promise<EndpointView> {
  const before = await existing(deps, app, id);
  const now = deps.now();
  const patch: EndpointPatch = {};
  if (body.url !== undefined) patch.url = checkedUrl(deps, body.url, before.livemode);
  if (body.eventTypes !== undefined) patch.eventTypes = body.eventTypes;
  if (body.description !== undefined) patch.description = body.description || null;
  const statements = [];
  if (body.enabled === false && before.status === "enabled") {
    patch.status = "disabled";
    statements.push(
      cancelPendingStatement(deps.db, id, "the endpoint was disabled before this was sent", now),
    );
  } else if (body.enabled === true && before.status === "disabled") {
    patch.status = "enabled";
  }
  await deps.db.batch([patchEndpointStatement(deps.db, before, patch, now), ...statements]);
  return endpointView(await existing(deps, app, id), now);
}

/**
 * A new signing secret, shown once. The replaced one keeps signing for 24 hours (every event is
 * signed with each), so receivers can switch without missing one; rotating again within a day
 * keeps the older replaced ones too (at most three), so a lost answer never locks a receiver out.
 */
export async function rotateSecret(
  deps: EndpointDeps,
  app: AppRecord,
  id: string,
): Promise<EndpointWithSecret> {
  const before = await existing(deps, app, id);
  const now = deps.now();
  const secret = newSigningSecret();
  const rotation = {
    secret: await encryptSecret(deps.encryptionKey, id, secret),
    previousSecrets: [
      { secret: before.secret, until: now + ROTATION_OVERLAP_SECONDS },
      ...before.previousSecrets.filter((p) => p.until > now),
    ].slice(0, MAX_PREVIOUS_SECRETS),
    replaced: before.secret,
  };
  const [result] = await deps.db.batch([rotateSecretStatement(deps.db, before, rotation, now)]);
  if (result?.meta.changes !== 1) throw new ApiError("conflict", MESSAGES.secretRotatedMeanwhile);
  // Answered from what was read and written, not read again: the secret is shown only now, and
  // a failing read after the commit must not lose it.
  const { secret: stored, previousSecrets } = rotation;
  const after = { ...before, secret: stored, previousSecrets, updatedAt: now };
  return { ...endpointView(after, now), secret };
}

/** The endpoint, its deliveries and their attempts. */
export async function deleteEndpoint(deps: EndpointDeps, app: AppRecord, id: string) {
  await existing(deps, app, id);
  await deps.db.batch(deleteEndpointStatements(deps.db, app.id, id));
}
