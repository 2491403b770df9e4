import type { KVNamespace } from "@cloudflare/workers-types";
import type * as z from "zod";
import {
  type AppRecord,
  appRecordSchema,
  kvKeys,
  returnUrl,
  stripeAccountId,
} from "../src/apps/records.ts";
import { type Deps, timestamp } from "./deps.ts";
import { CommandError } from "./errors.ts";
import { appIdSchema, check, parseStored } from "./parsing.ts";

/** The app commands that take no more than an id or a few fields: create, show, disable, enable. */

/**
 * Not the worker's findApp (src/apps/store.ts): that one keeps records in a per-process cache
 * for 30 s, and a command reads what it is about to write over, possibly right after another
 * command in the same process (scripts/dev.ts, the tests) changed it.
 */
export async function loadApp(kv: KVNamespace, appId: string): Promise<AppRecord> {
  const raw = await kv.get(kvKeys.app(appId));
  if (raw === null) throw new CommandError(`app ${appId} not found`);
  return parseStored(appRecordSchema, raw, `the record of app ${appId}`);
}

export type CreateAppInput = {
  name: string;
  successUrl?: string;
  cancelUrl?: string;
  stripeAccountTest?: string;
  stripeAccountLive?: string;
  live?: boolean;
};

export async function createApp(deps: Deps, input: CreateAppInput): Promise<AppRecord> {
  const optional = <S extends z.ZodType>(schema: S, value: string | undefined, what: string) =>
    value === undefined ? null : check(schema, value, what);
  const now = timestamp(deps);
  const record = appRecordSchema.parse({
    id: crypto.randomUUID(),
    name: check(appRecordSchema.shape.name, input.name.trim(), "--name"),
    status: "active",
    liveEnabled: input.live ?? false,
    stripeAccountTest: optional(stripeAccountId, input.stripeAccountTest, "--stripe-account-test"),
    stripeAccountLive: optional(stripeAccountId, input.stripeAccountLive, "--stripe-account-live"),
    successUrl: optional(returnUrl, input.successUrl, "--success-url"),
    cancelUrl: optional(returnUrl, input.cancelUrl, "--cancel-url"),
    tokenIssuer: null,
    publicKey: null,
    allowedOrigins: [],
    createdAt: now,
    updatedAt: now,
  });
  const { APPS } = await deps.bindings();
  await APPS.put(kvKeys.app(record.id), JSON.stringify(record));
  return record;
}

export async function showApp(deps: Deps, appId: string): Promise<AppRecord> {
  const id = check(appIdSchema, appId, "app id");
  const { APPS } = await deps.bindings();
  return loadApp(APPS, id);
}

/** Idempotent: an app that is already disabled is returned unchanged. */
export async function disableApp(deps: Deps, appId: string): Promise<AppRecord> {
  return setStatus(deps, appId, "disabled");
}

/** Idempotent: an app that is already active is returned unchanged. */
export async function enableApp(deps: Deps, appId: string): Promise<AppRecord> {
  return setStatus(deps, appId, "active");
}

async function setStatus(
  deps: Deps,
  appId: string,
  status: AppRecord["status"],
): Promise<AppRecord> {
  const id = check(appIdSchema, appId, "app id");
  const { APPS } = await deps.bindings();
  const app = await loadApp(APPS, id);
  if (app.status === status) return app;
  const updated = appRecordSchema.parse({ ...app, status, updatedAt: timestamp(deps) });
  await APPS.put(kvKeys.app(app.id), JSON.stringify(updated));
  return updated;
}
