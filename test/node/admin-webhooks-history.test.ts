import { describe, expect, it } from "vitest";
import { createApp } from "../../cli/apps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import {
  listWebhookDeliveries,
  listWebhookEvents,
  redeliverWebhookEvent,
} from "../../cli/webhooks.ts";
import { MESSAGES } from "../../src/messages.ts";
import { OUTBOUND_EVENT_TYPES } from "../../src/schemas/outbound.ts";
import {
  deliveryListAnswerSchema,
  endpointWithSecretSchema,
  redeliverAnswerSchema,
} from "../../src/schemas/outbound-views.ts";
import { UNKNOWN_APP, useLocalApps } from "./helpers/local-apps.ts";
import { fakeQueue, refused, webhookFixtures } from "./helpers/webhooks.ts";

/** `webhook events`, `webhook deliveries`, `webhook redeliver`: what an app was told, and again. */
const local = useLocalApps({ migrate: true });
const { deps, closed, run, givenEvent, givenAttempt, rows } = webhookFixtures(local);

const liveApp = () => createApp(local.setup(), { name: "Shop", live: true });

async function endpointOf(appId: string, values: Record<string, unknown> = {}) {
  const url = `https://hooks.acme-shop.com/${crypto.randomUUID()}`;
  const { json } = await run("webhook endpoint create", { app: appId, url, ...values });
  return endpointWithSecretSchema.parse(json);
}

const ids = (output: { json: object }) =>
  (output.json as { events: { id: string }[] }).events.map((e) => e.id);

describe("webhook events", () => {
  it("lists an app's events of one mode, oldest first, by time and type, page by page", async () => {
    const app = await liveApp();
    const at = (minute: number) => Date.parse(`2026-11-30T10:0${minute}:00.000Z`);
    const first = await givenEvent(app.id, { createdAtMs: at(1) });
    const expired = await givenEvent(app.id, { createdAtMs: at(2), type: "checkout.expired" });
    const third = await givenEvent(app.id, { createdAtMs: at(3) });
    const live = await givenEvent(app.id, { createdAtMs: at(4), livemode: true });
    await givenEvent((await liveApp()).id, { createdAtMs: at(5) });
    const events = (values: Record<string, unknown>) =>
      run("webhook events", { app: app.id, ...values });

    const all = await events({ test: true });
    expect(ids(all)).toEqual([first, expired, third]);
    expect(all.json).toMatchObject({ appId: app.id, livemode: false, nextCursor: null });
    expect(all.text.split("\n")).toEqual([
      `Webhook events of app ${app.id} (test mode), oldest first:`,
      `  ${first}  2026-11-30T10:01:00.000Z  checkout.completed  checkout cs_test_${first.slice(4, 12)}  no tenant`,
      `  ${expired}  2026-11-30T10:02:00.000Z  checkout.expired  checkout cs_test_${expired.slice(4, 12)}  no tenant`,
      `  ${third}  2026-11-30T10:03:00.000Z  checkout.completed  checkout cs_test_${third.slice(4, 12)}  no tenant`,
    ]);
    expect(ids(await events({}))).toEqual([live]);
    expect(ids(await events({ test: true, type: "checkout.expired" }))).toEqual([expired]);
    expect(ids(await events({ test: true, since: "2026-11-30T10:02:00Z" }))).toEqual([
      expired,
      third,
    ]);

    const page = await events({ test: true, limit: "2" });
    expect(ids(page)).toEqual([first, expired]);
    const { nextCursor } = page.json as { nextCursor: string };
    expect(page.text).toContain(`More: the same command with --cursor ${nextCursor}`);
    const rest = await events({ test: true, limit: "2", cursor: nextCursor });
    expect(ids(rest)).toEqual([third]);
    expect(rest.json).toMatchObject({ nextCursor: null });
    expect(rest.text).not.toContain("More:");
    expect((await events({ since: "2026-12-01T00:00:00Z" })).text).toBe(
      `App ${app.id} has no such webhook events in live mode.`,
    );
  });

  it("refuses what the query schema refuses before opening anything; a forged cursor is the service's", async () => {
    const list = (input: Partial<Parameters<typeof listWebhookEvents>[1]>) =>
      listWebhookEvents(closed, { appId: UNKNOWN_APP, test: false, ...input });
    await refused(list({ limit: "0" }), UsageError, "--limit must be from 1 to 100");
    await refused(list({ limit: "x" }), UsageError, "--limit must be a whole number from 1 to 100");
    await refused(
      list({ since: "yesterday" }),
      UsageError,
      "--since must be a time in ISO 8601 (2026-12-01T10:00:00Z)",
    );
    await refused(
      list({ type: "refund" }),
      UsageError,
      `--type must be one of ${OUTBOUND_EVENT_TYPES.join(", ")}`,
    );
    await refused(
      list({ cursor: "c!" }),
      UsageError,
      "--cursor must be a nextCursor this API returned",
    );
    const app = await liveApp();
    await refused(
      listWebhookEvents(deps(), { appId: app.id, test: false, cursor: "zz" }),
      CommandError,
      MESSAGES.cursorInvalid,
    );
  });
});

describe("webhook deliveries", () => {
  it("lists the deliveries of an event, or to an endpoint, each with its attempts", async () => {
    const app = await liveApp();
    const failing = await endpointOf(app.id);
    const slow = await endpointOf(app.id);
    const eventId = await givenEvent(app.id, { livemode: true });
    await run("webhook redeliver", { app: app.id }, [eventId]);
    const t = Date.parse("2026-11-30T10:00:00.000Z");
    const key = { eventId, endpointId: failing.id };
    await givenAttempt(key, { atMs: t, statusCode: 500, durationMs: 80, error: "HTTP 500" });
    await givenAttempt(key, { atMs: t + 300_000, statusCode: 200, durationMs: 123, error: null });
    await givenAttempt(
      { eventId, endpointId: slow.id },
      { atMs: t, statusCode: null, durationMs: 15000, error: "timed out after 15000 ms" },
    );

    const byEvent = await run("webhook deliveries", { app: app.id, event: eventId });
    const { deliveries } = deliveryListAnswerSchema.parse(byEvent.json);
    expect(deliveries.map((d) => [d.endpointId, d.status, d.attempts.length])).toEqual([
      [slow.id, "pending", 1],
      [failing.id, "delivered", 2],
    ]);
    const lines = byEvent.text.split("\n");
    expect(lines[0]).toBe(
      `Deliveries of event ${eventId} (app ${app.id}), newest first; their attempts newest first:`,
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^  ${eventId} → ${slow.id}  pending, next attempt \\S+  \\(1 attempt\\(s\\) this round\\)$`,
        ),
      ),
      "    #1  2026-11-30T10:00:00.000Z  no answer  15000 ms  timed out after 15000 ms",
      `  ${eventId} → ${failing.id}  delivered 2026-11-30T10:05:00.000Z  (2 attempt(s) this round)`,
      "    #2  2026-11-30T10:05:00.000Z  200  123 ms",
      "    #1  2026-11-30T10:00:00.000Z  500  80 ms  HTTP 500",
    ]);

    const byEndpoint = await run("webhook deliveries", { app: app.id, endpoint: failing.id });
    expect(byEndpoint.json).toMatchObject({
      appId: app.id,
      deliveries: [{ eventId, endpointId: failing.id, status: "delivered" }],
      nextCursor: null,
    });
    const other = await liveApp();
    expect((await run("webhook deliveries", { app: other.id, event: eventId })).text).toBe(
      `App ${other.id} has no deliveries of event ${eventId}.`,
    );
  });

  it("needs exactly one of --event and --endpoint, each a well-formed id", async () => {
    const list = (input: Partial<Parameters<typeof listWebhookDeliveries>[1]>) =>
      listWebhookDeliveries(closed, { appId: UNKNOWN_APP, ...input });
    const one = "give exactly one of --event and --endpoint";
    await refused(list({}), UsageError, one);
    await refused(
      list({ eventId: `evt_${"0".repeat(32)}`, endpointId: `we_${"a".repeat(24)}` }),
      UsageError,
      one,
    );
    await refused(
      list({ eventId: "evt_1" }),
      UsageError,
      "--event must be a webhook event id (evt_…)",
    );
    await refused(
      list({ endpointId: "we_1", limit: "101" }),
      UsageError,
      "--endpoint must be a webhook endpoint id (we_…); --limit must be from 1 to 100",
    );
  });
});

describe("webhook redeliver", () => {
  it("sends the event again to each enabled endpoint that takes it, through the queue when there is one", async () => {
    const app = await liveApp();
    const takes = await endpointOf(app.id);
    await endpointOf(app.id, { "event-type": ["invoice.paid"] });
    const off = await endpointOf(app.id);
    await run("webhook endpoint update", { app: app.id, disable: true }, [off.id]);
    await endpointOf(app.id, { test: true });
    const eventId = await givenEvent(app.id, { livemode: true });

    const { queue, sent } = fakeQueue();
    const { json, text } = await run(
      "webhook redeliver",
      { app: app.id },
      [eventId],
      deps({ queue }),
    );
    expect(redeliverAnswerSchema.parse(json).deliveries).toMatchObject([
      { eventId, endpointId: takes.id, status: "pending", attemptCount: 0 },
    ]);
    expect(json).toMatchObject({ appId: app.id, eventId, sentToQueue: 1 });
    expect(sent).toEqual([{ eventId, endpointId: takes.id, generation: 1 }]);
    expect(text.split("\n")[0]).toBe(
      `Redelivering event ${eventId} of app ${app.id} to 1 endpoint(s): ${takes.id}.`,
    );
    expect(text).toContain("Handed 1 of them to the local queue WEBHOOK_DELIVERIES");
    const [row] = await rows<{ enqueued_at: number | null }>(
      "SELECT enqueued_at FROM webhook_deliveries",
    );
    expect(row?.enqueued_at).not.toBeNull();
  });

  it("without a queue binding (--remote) leaves the deliveries to the sweep, and says so", async () => {
    const app = await liveApp();
    const endpoint = await endpointOf(app.id);
    const eventId = await givenEvent(app.id, { livemode: true });
    const { json, text } = await run("webhook redeliver", { app: app.id }, [eventId]);
    expect(json).toMatchObject({ sentToQueue: null, deliveries: [{ endpointId: endpoint.id }] });
    expect(text).toContain("No queue binding here");
    expect(text).toContain(
      "the cron's sweep\nhands the deliveries to the queue within about 10 minutes.",
    );
    expect(await rows("SELECT status, enqueued_at FROM webhook_deliveries")).toEqual([
      { status: "pending", enqueued_at: null },
    ]);

    // A queue that fails: the claim is undone, so the sweep finds the delivery.
    const failing = fakeQueue({ fail: true });
    const again = await run("webhook redeliver", { app: app.id }, [eventId], deps(failing));
    expect(again.json).toMatchObject({ sentToQueue: 0 });
    expect(again.text).toContain("1 could not be handed over: the cron's sweep sends them");
    expect(await rows("SELECT enqueued_at FROM webhook_deliveries")).toEqual([
      { enqueued_at: null },
    ]);
  });

  it("to one --endpoint; the service's refusals are exit code 1 with its message", async () => {
    const app = await liveApp();
    const eventId = await givenEvent(app.id, { livemode: true });
    const redeliver = (endpointId?: string, event = eventId) =>
      redeliverWebhookEvent(deps(), { appId: app.id, eventId: event, endpointId });
    await refused(
      redeliver(),
      CommandError,
      MESSAGES.noEndpointForEvent("checkout.completed", "live"),
    );
    const invoices = await endpointOf(app.id, { "event-type": ["invoice.paid"] });
    await refused(
      redeliver(invoices.id),
      CommandError,
      MESSAGES.endpointSkipsType("checkout.completed"),
    );
    const test = await endpointOf(app.id, { test: true });
    await refused(redeliver(test.id), CommandError, MESSAGES.endpointNotInMode("test"));
    const off = await endpointOf(app.id);
    await run("webhook endpoint update", { app: app.id, disable: true }, [off.id]);
    await refused(redeliver(off.id), CommandError, MESSAGES.endpointDisabled);
    await refused(redeliver(`we_${"c".repeat(24)}`), CommandError, MESSAGES.endpointNotFound);
    await refused(
      redeliver(undefined, `evt_${"f".repeat(32)}`),
      CommandError,
      MESSAGES.webhookEventNotFound,
    );
    const one = await endpointOf(app.id);
    await endpointOf(app.id);
    const result = await redeliver(one.id);
    expect(result.deliveries.map((d) => d.endpointId)).toEqual([one.id]);
    await refused(
      redeliverWebhookEvent(closed, { appId: app.id, eventId: "evt_x" }),
      UsageError,
      "EVENT_ID must be a webhook event id (evt_…)",
    );
    await refused(
      redeliverWebhookEvent(closed, { appId: app.id, eventId, endpointId: "we_x" }),
      UsageError,
      "--endpoint must be a webhook endpoint id (we_…)",
    );
  });
});
