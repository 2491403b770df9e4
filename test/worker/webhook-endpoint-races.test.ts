import { env } from "cloudflare:workers";
import type { D1Database } from "@cloudflare/workers-types";
import { describe, expect, it } from "vitest";
import { findEndpoint } from "../../src/db/webhook-endpoints.ts";
import {
  createEndpoint,
  type EndpointDeps,
  rotateSecret,
  updateEndpoint,
} from "../../src/outbound/endpoints.ts";
import { decryptSecret } from "../../src/outbound/secrets.ts";
import { givenWriter } from "./helpers/apps.ts";

/**
 * Issue 15, item 1: changes of one endpoint that overlap (a rotation and an update from two
 * places, the consumer disabling a failing endpoint during an update) each keep what the other
 * wrote. Each test lets the other change commit between this one's read and its write.
 */

const deps = (db: D1Database = env.DB): EndpointDeps => ({
  db,
  allowLoopback: false,
  encryptionKey: env.WEBHOOK_ENCRYPTION_KEY,
  now: () => Math.floor(Date.now() / 1000),
});

/** env.DB, but `meanwhile` commits just before this connection's first batch. */
function dbWithWriteBefore(meanwhile: () => Promise<unknown>): D1Database {
  let done = false;
  return new Proxy(env.DB, {
    get(target, name) {
      if (name === "batch") {
        return async (statements: Parameters<D1Database["batch"]>[0]) => {
          if (!done) {
            done = true;
            await meanwhile();
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function givenEndpointOfApp() {
  const { app } = await givenWriter();
  const created = await createEndpoint(deps(), app, {
    url: "https://hooks.example.com/races",
    test: true,
  });
  return { app, created };
}

async function storedSecret(appId: string, id: string) {
  const row = await findEndpoint(env.DB, appId, id);
  if (!row) throw new Error("endpoint gone");
  return { row, secret: await decryptSecret(env.WEBHOOK_ENCRYPTION_KEY, id, row.secret) };
}

describe("overlapping changes of one endpoint", () => {
  it("keeps a secret rotated while an update was under way", async () => {
    const { app, created } = await givenEndpointOfApp();
    let rotated = "";
    const updated = await updateEndpoint(
      deps(
        dbWithWriteBefore(async () => {
          rotated = (await rotateSecret(deps(), app, created.id)).secret;
        }),
      ),
      app,
      created.id,
      { description: "billing server" },
    );
    expect(updated.description).toBe("billing server");
    const { row, secret } = await storedSecret(app.id, created.id);
    expect(secret).toBe(rotated);
    expect(row.previousSecrets).toHaveLength(1);
    expect(row.description).toBe("billing server");
  });

  it("keeps an endpoint disabled for failing while an update was under way", async () => {
    const { app, created } = await givenEndpointOfApp();
    const updated = await updateEndpoint(
      deps(
        dbWithWriteBefore(() =>
          env.DB.prepare(
            "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'failing', disabled_at = ?2 WHERE id = ?1",
          )
            .bind(created.id, Math.floor(Date.now() / 1000))
            .run(),
        ),
      ),
      app,
      created.id,
      { description: "billing server" },
    );
    expect(updated).toMatchObject({ status: "disabled", disabled: { reason: "failing" } });
    const { row } = await storedSecret(app.id, created.id);
    expect(row).toMatchObject({ status: "disabled", disabledReason: "failing" });
  });

  it("refuses the second of two rotations at once with 409, keeping the first's secret", async () => {
    const { app, created } = await givenEndpointOfApp();
    let first = "";
    const second = rotateSecret(
      deps(
        dbWithWriteBefore(async () => {
          first = (await rotateSecret(deps(), app, created.id)).secret;
        }),
      ),
      app,
      created.id,
    );
    await expect(second).rejects.toMatchObject({
      code: "conflict",
      message:
        "This endpoint's secret was rotated meanwhile; rotate it again to get a secret shown (nothing was changed)",
    });
    const { row, secret } = await storedSecret(app.id, created.id);
    expect(secret).toBe(first);
    expect(row.previousSecrets).toHaveLength(1);
  });
});
