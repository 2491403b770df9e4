import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Queue } from "@cloudflare/workers-types";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import type { Deps } from "../../../cli/deps.ts";
import type { CommandError, UsageError } from "../../../cli/errors.ts";
import { printable } from "../../../cli/printable.ts";
import { WEBHOOK_COMMANDS } from "../../../cli/webhook-commands.ts";
import { type DeliveryMessage, recordAttemptStatements } from "../../../src/db/deliveries.ts";
import { ROOT, type useLocalApps } from "./local-apps.ts";

/** For test/node/admin-webhooks.test.ts: the CLI's deps, events and attempts in D1, the CLI. */

/** The key the tests' endpoints' secrets are encrypted with (32 bytes, base64). */
/** That the command was refused with this kind of error and exactly this message. */
export async function refused(
  promise: Promise<unknown>,
  kind: typeof UsageError | typeof CommandError,
  message: string,
): Promise<void> {
  const error = await promise.then(
    () => new Error("it was not refused"),
    (err: unknown) => err as Error,
  );
  expect(error.message).toBe(message);
  expect(error).toBeInstanceOf(kind);
}

export const KEY = "oFrpyO+JjXiBp+Un1q4Sfi5izhTHDAcxEzqwPcwngF4=";

type Local = ReturnType<typeof useLocalApps>;

/** A queue producer that keeps what it was given, or fails. */
export function fakeQueue(options: { fail?: boolean } = {}) {
  const sent: DeliveryMessage[] = [];
  const queue = {
    send: async () => {
      throw new Error("the CLI sends batches");
    },
    sendBatch: async (messages: { body: DeliveryMessage }[]) => {
      if (options.fail) throw new Error("queue unavailable");
      sent.push(...messages.map((m) => m.body));
    },
  } as unknown as Queue<DeliveryMessage>;
  return { queue, sent };
}

export function webhookFixtures(local: Local) {
  beforeEach(async () => {
    const db = local.db();
    for (const table of [
      "webhook_attempts",
      "webhook_deliveries",
      "webhook_events",
      "webhook_endpoints",
    ]) {
      await db.prepare(`DELETE FROM ${table}`).run();
    }
  });

  /**
   * One clock for every command of a file, a second further on each reading: the endpoints made
   * one after the other have different creation times, the order they are listed and sent in.
   */
  let t = Date.parse("2026-11-30T12:00:00.000Z");
  const now = () => {
    t += 1000;
    return new Date(t);
  };

  /**
   * The CLI's deps over the local state, with the vars a test names (the encryption key, no
   * loopback endpoints unless asked) and a queue binding only when one is given.
   */
  function deps(
    options: { vars?: Record<string, string>; queue?: Queue<DeliveryMessage> } = {},
  ): Deps {
    const base = local.setup();
    return {
      now,
      bindings: async () => {
        const env = await base.bindings();
        return {
          ...env,
          vars: {
            ...env.vars,
            WEBHOOK_ENCRYPTION_KEY: KEY,
            WEBHOOK_ALLOW_LOOPBACK: "false",
            ...options.vars,
          },
          WEBHOOK_DELIVERIES: options.queue,
        };
      },
    };
  }

  /** Deps whose bindings must not be opened: for refusals that come before. */
  const closed: Deps = {
    bindings: async () => {
      throw new Error("the bindings were opened");
    },
  };

  /** One command of the group, as cli/admin.ts runs it: its JSON, and its text as printed. */
  async function run(
    name: string,
    values: Parameters<(typeof WEBHOOK_COMMANDS)[string]["run"]>[1],
    args: string[] = [],
    d: Deps = deps(),
  ): Promise<{ json: object; text: string }> {
    const command = WEBHOOK_COMMANDS[name];
    if (!command) throw new Error(`no command ${name}`);
    const output = await command.run(d, values, args);
    return { json: output.json, text: printable(output, false) };
  }

  /** An event in the outbox, as the worker's batches write them. */
  async function givenEvent(
    appId: string,
    options: { livemode?: boolean; type?: string; createdAtMs?: number } = {},
  ): Promise<string> {
    const id = `evt_${crypto.randomUUID().replaceAll("-", "")}`;
    const object = {
      kind: "checkout",
      id: `cs_test_${id.slice(4, 12)}`,
      hash: id.slice(4, 20),
      status: "complete",
      paymentStatus: "paid",
      mode: "payment",
    };
    await local
      .db()
      .prepare(
        `INSERT INTO webhook_events (id, app_id, tenant_id, livemode, type, object_kind, object_id, object, origin, created_at_ms)
         VALUES (?1, ?2, NULL, ?3, ?4, 'checkout', ?5, ?6, 'test', ?7)`,
      )
      .bind(
        id,
        appId,
        options.livemode ? 1 : 0,
        options.type ?? "checkout.completed",
        object.id,
        JSON.stringify(object),
        options.createdAtMs ?? Date.parse("2026-11-30T10:00:00.000Z"),
      )
      .run();
    return id;
  }

  /** An attempt, recorded as the consumer records it. */
  async function givenAttempt(
    key: { eventId: string; endpointId: string },
    attempt: { atMs: number; statusCode: number | null; durationMs: number; error: string | null },
  ): Promise<void> {
    const db = local.db();
    const delivered = attempt.statusCode !== null && attempt.statusCode < 300;
    const now = Math.floor(attempt.atMs / 1000);
    const round = await db
      .prepare("SELECT generation FROM webhook_deliveries WHERE event_id = ?1 AND endpoint_id = ?2")
      .bind(key.eventId, key.endpointId)
      .first<{ generation: number }>();
    await db.batch(
      recordAttemptStatements(
        db,
        { ...key, generation: round?.generation ?? 0, leaseUntil: 0 },
        { ...attempt, responseExcerpt: null },
        { status: delivered ? "delivered" : "pending", nextAttemptAt: now + 300 },
        now,
        { disableAfterSeconds: 5 * 86_400, idleAfterSeconds: 86_400 + 3600 },
      ),
    );
  }

  async function rows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
    const { results } = await local
      .db()
      .prepare(sql)
      .bind(...params)
      .all<T>();
    return results;
  }

  return { deps, closed, run, givenEvent, givenAttempt, rows };
}

export type Run = { code: number; stdout: string; stderr: string };

/**
 * cli/admin.ts in a process of its own on the tests' local state, with the encryption key in
 * the shell (as --remote takes it) and a dev registry of its own: no `wrangler dev` of this
 * machine receives what the CLI hands to the local queue.
 */
export function useCli(local: Local) {
  let registry = "";
  beforeAll(async () => {
    registry = await mkdtemp(path.join(tmpdir(), "admin-registry-"));
  });
  afterAll(async () => {
    await rm(registry, { recursive: true, force: true });
  });
  return (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--experimental-strip-types", "cli/admin.ts", ...args, "--persist-to", local.stateDir()],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            WEBHOOK_ENCRYPTION_KEY: KEY,
            WRANGLER_REGISTRY_PATH: registry,
            WRANGLER_SEND_METRICS: "false",
          },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      );
    });
}
