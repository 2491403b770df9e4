import type { KVNamespace } from "@cloudflare/workers-types";
import * as z from "zod";
import {
  type AppRecord,
  appRecordSchema,
  kvKeys,
  returnUrl,
  stripeAccountId,
} from "../src/apps/records.ts";
import { loadApp } from "./apps.ts";
import { type Deps, timestamp } from "./deps.ts";
import { CommandError, UsageError } from "./errors.ts";
import { putInOrder } from "./kv.ts";
import { checkOrigins } from "./origins.ts";
import { appIdSchema, check, parseStored } from "./parsing.ts";
import { readPublicKeyFile } from "./public-keys.ts";

/** What `app update` may change; an absent field is left as it is. */
export type UpdateAppInput = {
  name?: string;
  successUrl?: string;
  cancelUrl?: string;
  /** Where Stripe's customer portal returns to, or "none" for no portal. */
  portalReturnUrl?: string;
  /** An account id, or "none" for the platform's own account. */
  stripeAccountTest?: string;
  stripeAccountLive?: string;
  live?: boolean;
  tokenIssuer?: string;
  /** A file holding the app's RSA public key (PEM, SPKI). */
  publicKeyFile?: string;
  /** Replaces the allowed origins (deduplicated, order kept). */
  origins?: string[];
  clearOrigins?: boolean;
};

export type UpdatedApp = {
  app: AppRecord;
  /** The record fields whose value changed; empty if every value given was already set. */
  changed: (keyof AppRecord)[];
};

/** The `iss` an app's access tokens must carry. */
const tokenIssuerSchema = z
  .string()
  .min(1, "must not be empty")
  .max(500, "must be at most 500 characters")
  .regex(/^\S+$/, "must not contain whitespace");

/** Sets only the fields given, each validated with the worker's schemas, then the record. */
export async function updateApp(
  deps: Deps,
  appIdInput: string,
  input: UpdateAppInput,
): Promise<UpdatedApp> {
  const appId = check(appIdSchema, appIdInput, "app id");
  const account = (value: string, what: string) =>
    value === "none" ? null : check(stripeAccountId, value, what);
  if (input.origins !== undefined && input.clearOrigins) {
    throw new UsageError("--origin and --clear-origins cannot be combined");
  }

  // Everything is checked before the bindings are opened, so a bad flag costs no KV access.
  const changes: Partial<AppRecord> = {};
  if (input.name !== undefined) {
    changes.name = check(appRecordSchema.shape.name, input.name.trim(), "--name");
  }
  if (input.successUrl !== undefined) {
    changes.successUrl = check(returnUrl, input.successUrl, "--success-url");
  }
  if (input.cancelUrl !== undefined) {
    changes.cancelUrl = check(returnUrl, input.cancelUrl, "--cancel-url");
  }
  if (input.portalReturnUrl !== undefined) {
    changes.portalReturnUrl =
      input.portalReturnUrl === "none"
        ? null
        : check(returnUrl, input.portalReturnUrl, "--portal-return-url");
  }
  if (input.stripeAccountTest !== undefined) {
    changes.stripeAccountTest = account(input.stripeAccountTest, "--stripe-account-test");
  }
  if (input.stripeAccountLive !== undefined) {
    changes.stripeAccountLive = account(input.stripeAccountLive, "--stripe-account-live");
  }
  if (input.live !== undefined) changes.liveEnabled = input.live;
  if (input.tokenIssuer !== undefined) {
    changes.tokenIssuer = check(tokenIssuerSchema, input.tokenIssuer, "--issuer");
  }
  if (input.publicKeyFile !== undefined) {
    changes.publicKey = await readPublicKeyFile(input.publicKeyFile);
  }
  if (input.origins !== undefined) {
    if (input.origins.length === 0) throw new UsageError("--origin needs a value");
    changes.allowedOrigins = checkOrigins(input.origins);
  }
  if (input.clearOrigins) changes.allowedOrigins = [];
  if (Object.keys(changes).length === 0) {
    throw new UsageError("app update needs at least one change (see --help)");
  }

  const { APPS } = await deps.bindings();
  const app = await loadApp(APPS, appId);
  const origins = changes.allowedOrigins;

  const changed = (Object.keys(changes) as (keyof AppRecord)[]).filter(
    (field) => JSON.stringify(app[field]) !== JSON.stringify(changes[field]),
  );
  const indexWrites = origins === undefined ? [] : await originIndexWrites(APPS, app, origins);
  if (changed.length === 0) {
    // The record already says so; the index is still brought in line with it.
    await putInOrder(APPS, indexWrites);
    return { app, changed };
  }
  const result = appRecordSchema.safeParse({ ...app, ...changes, updatedAt: timestamp(deps) });
  if (!result.success) {
    const messages = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new CommandError(`the updated record would be invalid: ${messages.join("; ")}`);
  }
  // The index first: should the writes stop half-way, a preflight may pass for an origin that
  // the record does not (yet, or any more) allow, which the worker then refuses.
  await putInOrder(APPS, [...indexWrites, [kvKeys.app(app.id), JSON.stringify(result.data)]]);
  return { app: result.data, changed };
}

const originIndexSchema = z.array(z.string());

/**
 * The writes that make the CORS index (`corsorigin:<origin>` → ids of the apps that allow the
 * origin, read by the worker to answer preflights) agree with the app's new origins: its id
 * added where missing, and removed from the origins it no longer allows (an entry left with
 * no id is written as `[]`, which the worker treats as absent).
 */
async function originIndexWrites(
  kv: KVNamespace,
  app: AppRecord,
  origins: string[],
): Promise<[string, string][]> {
  const removed = app.allowedOrigins.filter((origin) => !origins.includes(origin));
  const read = (list: string[]) => Promise.all(list.map((o) => kv.get(kvKeys.corsOrigin(o))));
  const [rawNew, rawRemoved] = await Promise.all([read(origins), read(removed)]);
  const entry = (raw: string | null | undefined, origin: string): string[] =>
    raw === null || raw === undefined
      ? []
      : parseStored(originIndexSchema, raw, `the CORS index entry of ${origin}`);

  const writes: [string, string][] = [];
  origins.forEach((origin, i) => {
    const ids = entry(rawNew[i], origin);
    if (!ids.includes(app.id)) {
      writes.push([kvKeys.corsOrigin(origin), JSON.stringify([...ids, app.id])]);
    }
  });
  removed.forEach((origin, i) => {
    const ids = entry(rawRemoved[i], origin);
    if (ids.includes(app.id)) {
      writes.push([kvKeys.corsOrigin(origin), JSON.stringify(ids.filter((id) => id !== app.id))]);
    }
  });
  return writes;
}
