import { describe, expect, it } from "vitest";
import { createApp } from "../../cli/apps.ts";
import { CommandError, UsageError } from "../../cli/errors.ts";
import {
  createWebhookEndpoint,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from "../../cli/webhooks.ts";
import { MESSAGES, URL_REFUSALS } from "../../src/messages.ts";
import { decryptSecret } from "../../src/outbound/secrets.ts";
import { OUTBOUND_EVENT_TYPES } from "../../src/schemas/outbound.ts";
import {
  endpointAnswerSchema,
  endpointListAnswerSchema,
  endpointWithSecretSchema,
} from "../../src/schemas/outbound-views.ts";
import { UNKNOWN_APP, useLocalApps } from "./helpers/local-apps.ts";
import { KEY, refused, useCli, webhookFixtures } from "./helpers/webhooks.ts";

/** `webhook …`: an app's outbound webhooks over real local KV and D1, through the service layer. */
const local = useLocalApps({ migrate: true });
const { deps, closed, run, givenEvent, givenAttempt, rows } = webhookFixtures(local);
const admin = useCli(local);

const URL_A = "https://hooks.acme-shop.com/events";
const URL_B = "https://hooks.acme-shop.com/other";
const OTHER_KEY = Buffer.alloc(32, 7).toString("base64");

const liveApp = () => createApp(local.setup(), { name: "Shop", live: true });

/** An endpoint made through the command, with its secret. */
async function endpointOf(appId: string, values: Record<string, unknown> = {}) {
  const { json } = await run("webhook endpoint create", { app: appId, url: URL_A, ...values });
  return endpointWithSecretSchema.parse(json);
}

const storedSecret = async (id: string) =>
  (await rows<{ secret: string }>("SELECT secret FROM webhook_endpoints WHERE id = ?1", id))[0]
    ?.secret ?? "";

describe("webhook endpoint create", () => {
  it("creates a live endpoint and prints its signing secret once; D1 holds it only encrypted", async () => {
    const app = await liveApp();
    const { json, text } = await run("webhook endpoint create", {
      app: app.id,
      url: URL_A,
      "event-type": ["checkout.completed", "invoice.paid"],
      description: "order service",
    });
    const endpoint = endpointWithSecretSchema.parse(json);
    expect(json).toMatchObject({
      appId: app.id,
      url: URL_A,
      livemode: true,
      eventTypes: ["checkout.completed", "invoice.paid"],
      description: "order service",
      status: "enabled",
    });
    expect(text.split(endpoint.secret)).toHaveLength(2);
    expect(text).toContain(
      `Created webhook endpoint ${endpoint.id} for app ${app.id} (live mode).`,
    );
    expect(text).toContain("This signing secret is shown only now");
    expect(text).toMatch(/event types: +checkout\.completed, invoice\.paid/);

    const stored = await storedSecret(endpoint.id);
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(endpoint.secret.slice(6));
    // Encrypted with the worker's key, bound to the endpoint: the consumer can open it.
    expect(await decryptSecret(KEY, endpoint.id, stored)).toBe(endpoint.secret);

    const shown = [
      await run("webhook endpoint show", { app: app.id }, [endpoint.id]),
      await run("webhook endpoint list", { app: app.id }),
    ];
    for (const output of shown) {
      for (const printed of [output.text, JSON.stringify(output.json)]) {
        expect(printed).toContain(endpoint.id);
        expect(printed).not.toContain("whsec_");
        expect(printed).not.toContain(stored);
      }
    }
  });

  it("creates a test-mode endpoint for any app; live mode only for an app enabled for it", async () => {
    const app = await createApp(local.setup(), { name: "Test only" });
    const endpoint = await endpointOf(app.id, { test: true });
    expect(endpoint).toMatchObject({ livemode: false, eventTypes: null, description: null });
    await refused(
      run("webhook endpoint create", { app: app.id, url: URL_B }),
      CommandError,
      MESSAGES.liveNotEnabled,
    );
    await refused(
      run("webhook endpoint create", { app: UNKNOWN_APP, url: URL_B }),
      CommandError,
      `app ${UNKNOWN_APP} not found`,
    );
    expect(await rows("SELECT id FROM webhook_endpoints")).toEqual([{ id: endpoint.id }]);
  });

  it("refuses what the no-SSRF rules refuse: before opening anything, unless only the config decides", async () => {
    const app = await liveApp();
    const create = (url: string, test = false, d = closed) =>
      createWebhookEndpoint(d, { appId: app.id, url, test });
    const asFlag = (reason: string) => `--url${reason.slice("url".length)}`;
    await refused(create("http://10.0.0.1/x", true), UsageError, asFlag(URL_REFUSALS.notHttps));
    await refused(create("https://10.0.0.1/x"), UsageError, asFlag(URL_REFUSALS.ipLiteral));
    await refused(create("https://localhost/x"), UsageError, asFlag(URL_REFUSALS.privateHost));
    await refused(create("https://hooks.corp/x"), UsageError, asFlag(URL_REFUSALS.privateHost));
    await refused(create("https://a.example.com:8443/x"), UsageError, asFlag(URL_REFUSALS.port));
    // Loopback in test mode is for local development only (WEBHOOK_ALLOW_LOOPBACK): the service says.
    await refused(
      create("https://localhost/x", true, deps()),
      CommandError,
      URL_REFUSALS.privateHost,
    );
    const dev = deps({ vars: { WEBHOOK_ALLOW_LOOPBACK: "true" } });
    expect(await create("http://127.0.0.1:8788/hook", true, dev)).toMatchObject({
      url: "http://127.0.0.1:8788/hook",
      livemode: false,
    });
    expect(await rows("SELECT url FROM webhook_endpoints")).toEqual([
      { url: "http://127.0.0.1:8788/hook" },
    ]);
  });

  it("checks the flags with the API's schemas, naming the flags, before opening anything", async () => {
    const create = (input: Partial<Parameters<typeof createWebhookEndpoint>[1]>) =>
      createWebhookEndpoint(closed, { appId: UNKNOWN_APP, url: URL_A, test: false, ...input });
    await refused(
      create({ eventTypes: ["checkout.done"] }),
      UsageError,
      `--event-type must name event types: ${OUTBOUND_EVENT_TYPES.join(", ")}`,
    );
    await refused(
      create({ eventTypes: ["invoice.paid", "invoice.paid"] }),
      UsageError,
      "--event-type names an event type twice",
    );
    await refused(
      create({ description: "x".repeat(201) }),
      UsageError,
      "--description is too long (at most 200 characters)",
    );
    await refused(create({ url: "" }), UsageError, "--url must not be empty");
    await expect(create({ appId: "shop" })).rejects.toThrow(/^--app: /);
  });

  it("names a missing WEBHOOK_ENCRYPTION_KEY, and refuses one that does not open the stored secrets", async () => {
    const app = await liveApp();
    const create = (key: string) =>
      run(
        "webhook endpoint create",
        { app: app.id, url: URL_B },
        [],
        deps({ vars: { WEBHOOK_ENCRYPTION_KEY: key } }),
      );
    await refused(
      create(""),
      CommandError,
      "WEBHOOK_ENCRYPTION_KEY is not set: locally put it in .dev.vars (see .dev.vars.example); with --remote set it in the shell, the same value as the worker's secret",
    );
    await refused(
      create("not base64 of 32 bytes"),
      CommandError,
      MESSAGES.misconfiguredEncryptionKey,
    );
    const endpoint = await endpointOf(app.id);
    const before = await storedSecret(endpoint.id);
    const notTheWorkers = `WEBHOOK_ENCRYPTION_KEY does not open the signing secrets stored for app ${app.id}: it is not the key the worker uses (locally .dev.vars, with --remote the value in the shell); nothing was changed`;
    await refused(create(OTHER_KEY), CommandError, notTheWorkers);
    const rotate = rotateWebhookSecret(deps({ vars: { WEBHOOK_ENCRYPTION_KEY: OTHER_KEY } }), {
      appId: app.id,
      endpointId: endpoint.id,
    });
    await refused(rotate, CommandError, notTheWorkers);
    expect(await rows("SELECT id FROM webhook_endpoints")).toEqual([{ id: endpoint.id }]);
    expect(await storedSecret(endpoint.id)).toBe(before);
  });
});

describe("webhook endpoint list, show", () => {
  it("lists one mode's endpoints and shows one of the app's, never another app's", async () => {
    const app = await liveApp();
    const first = await endpointOf(app.id, { description: "orders" });
    const second = await endpointOf(app.id, { url: URL_B, "event-type": ["payment.refunded"] });
    const test = await endpointOf(app.id, { test: true });

    const live = await run("webhook endpoint list", { app: app.id });
    expect(endpointListAnswerSchema.parse(live.json).endpoints.map((e) => e.id)).toEqual([
      first.id,
      second.id,
    ]);
    expect(live.json).toMatchObject({ appId: app.id, livemode: true });
    expect(live.text.split("\n")).toEqual([
      `Webhook endpoints of app ${app.id} (live mode):`,
      `${first.id}  enabled   ${URL_A}  events: all  orders`,
      `${second.id}  enabled   ${URL_B}  events: payment.refunded`,
    ]);
    const tests = await run("webhook endpoint list", { app: app.id, test: true });
    expect(tests.json).toMatchObject({ livemode: false, endpoints: [{ id: test.id }] });

    const shown = await run("webhook endpoint show", { app: app.id }, [second.id]);
    expect(endpointAnswerSchema.parse({ endpoint: shown.json }).endpoint).toMatchObject({
      id: second.id,
      url: URL_B,
    });
    expect(shown.text).toContain(`Webhook endpoint ${second.id} of app ${app.id} (live mode)`);
    expect(shown.text).toMatch(/status: +enabled\n/);
    expect(shown.text).toMatch(/description: +\(none\)\n/);

    const other = await liveApp();
    await refused(
      run("webhook endpoint show", { app: other.id }, [second.id]),
      CommandError,
      MESSAGES.endpointNotFound,
    );
    expect((await run("webhook endpoint list", { app: other.id, test: true })).text).toBe(
      `App ${other.id} has no webhook endpoints in test mode.`,
    );
  });
});

describe("webhook endpoint update", () => {
  it("changes the fields given; --disable cancels pending deliveries, --enable forgets failures", async () => {
    const app = await liveApp();
    const endpoint = await endpointOf(app.id, { "event-type": ["checkout.completed"] });
    const update = (values: Record<string, unknown>) =>
      run("webhook endpoint update", { app: app.id, ...values }, [endpoint.id]);

    const changed = await update({
      url: URL_B,
      "event-type": ["invoice.paid", "checkout.completed"],
      description: "billing",
    });
    expect(changed.json).toMatchObject({
      url: URL_B,
      eventTypes: ["invoice.paid", "checkout.completed"],
      description: "billing",
    });
    expect(changed.text).toContain(`Updated webhook endpoint ${endpoint.id} of app ${app.id}.`);
    expect((await update({ "all-event-types": true, description: "none" })).json).toMatchObject({
      url: URL_B,
      eventTypes: null,
      description: null,
    });

    const eventId = await givenEvent(app.id, { livemode: true });
    await run("webhook redeliver", { app: app.id }, [eventId]);
    const disabled = await update({ disable: true });
    expect(disabled.json).toMatchObject({ status: "disabled", disabled: { reason: "app" } });
    expect(disabled.text).toMatch(/status: +disabled \(by the app or an operator, since /);
    expect(disabled.text).toContain("its pending deliveries were canceled");
    expect(await rows("SELECT status FROM webhook_deliveries")).toEqual([{ status: "canceled" }]);

    await local
      .db()
      .prepare("UPDATE webhook_endpoints SET consecutive_failures = 7, failing_since = 1")
      .run();
    const enabled = await update({ enable: true });
    expect(enabled.json).toMatchObject({
      status: "enabled",
      disabled: null,
      consecutiveFailures: 0,
      failingSince: null,
    });
    expect(enabled.text).toContain("It receives events again");
    // The endpoint's mode decides which URLs it may have.
    await refused(update({ url: "https://localhost/x" }), CommandError, URL_REFUSALS.privateHost);
  });

  it("refuses bad combinations, nothing to change and bad values before opening anything", async () => {
    const update = (input: Partial<Parameters<typeof updateWebhookEndpoint>[1]>) =>
      updateWebhookEndpoint(closed, {
        appId: UNKNOWN_APP,
        endpointId: `we_${"a".repeat(24)}`,
        ...input,
      });
    await refused(
      update({ enable: true, disable: true }),
      UsageError,
      "--enable and --disable cannot be combined",
    );
    await refused(
      update({ eventTypes: ["invoice.paid"], allEventTypes: true }),
      UsageError,
      "--event-type and --all-event-types cannot be combined",
    );
    await refused(
      update({}),
      UsageError,
      "nothing to change: give --url, --event-type, --all-event-types, --description, --enable or --disable",
    );
    await refused(
      update({ url: "http://10.0.0.1/x" }),
      UsageError,
      `--url${URL_REFUSALS.notHttps.slice(3)}`,
    );
    await refused(
      update({ endpointId: "we_1", enable: true }),
      UsageError,
      "ENDPOINT_ID must be a webhook endpoint id (we_…)",
    );
  });
});

describe("webhook endpoint rotate-secret, delete", () => {
  it("prints the new secret once and until when the replaced one still signs", async () => {
    const app = await liveApp();
    const endpoint = await endpointOf(app.id);
    const { json, text } = await run("webhook endpoint rotate-secret", { app: app.id }, [
      endpoint.id,
    ]);
    const rotated = endpointWithSecretSchema.parse(json);
    expect(rotated.secret).not.toBe(endpoint.secret);
    const until = new Date(Date.parse(rotated.updatedAt) + 86_400_000).toISOString();
    expect(rotated.previousSecretValidUntil).toBe(until);
    expect(text.split(rotated.secret)).toHaveLength(2);
    expect(text).not.toContain(endpoint.secret);
    expect(text).toContain("This signing secret is shown only now");
    expect(text).toContain(`The replaced secret still signs every event too until ${until}`);

    expect(await decryptSecret(KEY, endpoint.id, await storedSecret(endpoint.id))).toBe(
      rotated.secret,
    );
    const [previous] = await rows<{ previous_secrets: string }>(
      "SELECT previous_secrets FROM webhook_endpoints",
    );
    const [old] = JSON.parse(previous?.previous_secrets ?? "[]") as { secret: string }[];
    expect(await decryptSecret(KEY, endpoint.id, old?.secret ?? "")).toBe(endpoint.secret);
    const shown = await run("webhook endpoint show", { app: app.id }, [endpoint.id]);
    expect(shown.text).toContain(`old secret signs until: ${until}`);
    expect(shown.text).not.toContain("whsec_");
  });

  it("deletes an endpoint with its deliveries and their attempts", async () => {
    const app = await liveApp();
    const gone = await endpointOf(app.id);
    const kept = await endpointOf(app.id, { url: URL_B });
    const eventId = await givenEvent(app.id, { livemode: true });
    await run("webhook redeliver", { app: app.id }, [eventId]);
    const attempt = { atMs: Date.now(), statusCode: 500, durationMs: 40, error: "HTTP 500" };
    await givenAttempt({ eventId, endpointId: gone.id }, attempt);

    const deleted = await run("webhook endpoint delete", { app: app.id }, [gone.id]);
    expect(deleted.json).toEqual({ id: gone.id, appId: app.id, deleted: true });
    expect(deleted.text).toBe(
      `Deleted webhook endpoint ${gone.id} of app ${app.id}, with its deliveries and their attempts.`,
    );
    expect(await rows("SELECT id FROM webhook_endpoints")).toEqual([{ id: kept.id }]);
    expect(await rows("SELECT endpoint_id FROM webhook_deliveries")).toEqual([
      { endpoint_id: kept.id },
    ]);
    expect(await rows("SELECT * FROM webhook_attempts")).toEqual([]);
    await refused(
      run("webhook endpoint delete", { app: app.id }, [gone.id]),
      CommandError,
      MESSAGES.endpointNotFound,
    );
  });
});

describe("through cli/admin.ts (a process of its own on the same local state)", () => {
  it("prints one JSON object with --json, and a secret only on create and rotate-secret", async () => {
    const app = await liveApp();
    const created = await admin(
      "webhook",
      "endpoint",
      "create",
      "--app",
      app.id,
      "--url",
      URL_A,
      "--json",
    );
    expect(created.code, created.stderr).toBe(0);
    const endpoint = endpointWithSecretSchema.parse(JSON.parse(created.stdout));
    expect(endpoint).toMatchObject({ url: URL_A, livemode: true });

    const listed = await admin("webhook", "endpoint", "list", "--app", app.id, "--json");
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ endpoints: [{ id: endpoint.id }] });
    const shown = await admin("webhook", "endpoint", "show", endpoint.id, "--app", app.id);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`Webhook endpoint ${endpoint.id} of app ${app.id} (live mode)`);

    const rotated = await admin(
      "webhook",
      "endpoint",
      "rotate-secret",
      endpoint.id,
      "--app",
      app.id,
    );
    expect(rotated.code, rotated.stderr).toBe(0);
    const secrets = rotated.stdout.match(/whsec_\S+/g) ?? [];
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).not.toBe(endpoint.secret);
    expect(await decryptSecret(KEY, endpoint.id, await storedSecret(endpoint.id))).toBe(secrets[0]);

    for (const quiet of [listed, shown])
      expect(quiet.stdout + quiet.stderr).not.toContain("whsec_");
    for (const any of [created, listed, shown, rotated]) expect(any.stderr).not.toContain("whsec_");
  });

  it("exits 2 on bad usage (JSON too, with --json), 1 when the service refuses, naming why", async () => {
    const app = await liveApp();
    const ssrf = await admin(
      "webhook",
      "endpoint",
      "create",
      "--app",
      app.id,
      "--url",
      "http://10.0.0.1/x",
      "--json",
    );
    expect(ssrf.code).toBe(2);
    expect(JSON.parse(ssrf.stdout)).toEqual({ error: `--url${URL_REFUSALS.notHttps.slice(3)}` });
    expect(ssrf.stderr).toContain(`admin: --url${URL_REFUSALS.notHttps.slice(3)}`);
    const loopback = await admin(
      "webhook",
      "endpoint",
      "create",
      "--app",
      app.id,
      "--url",
      "https://localhost/x",
    );
    expect(loopback.code).toBe(2);
    expect(loopback.stderr).toContain(`--url${URL_REFUSALS.privateHost.slice(3)}`);
    const flag = await admin("webhook", "events", "--app", app.id, "--live");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("webhook events does not take --live");
    const neither = await admin("webhook", "deliveries", "--app", app.id);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("give exactly one of --event and --endpoint");
    const unknown = await admin("webhook", "endpoint", "rename", "--app", app.id);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command: webhook endpoint rename\n");

    const missing = await admin(
      "webhook",
      "endpoint",
      "show",
      `we_${"b".repeat(24)}`,
      "--app",
      app.id,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`admin: ${MESSAGES.endpointNotFound}`);
    const noApp = await admin("webhook", "events", "--app", UNKNOWN_APP, "--test");
    expect(noApp.code).toBe(1);
    expect(noApp.stderr).toContain(`app ${UNKNOWN_APP} not found`);

    const help = await admin("--help");
    expect(help.stdout).toContain("webhook endpoint rotate-secret ENDPOINT_ID --app APP_ID");
  });

  it("prints control characters escaped, in text and JSON: a stored description cannot drive the terminal", async () => {
    const app = await liveApp();
    const endpoint = await endpointOf(app.id, { description: "order service" });
    // As an app could store it before descriptions were checked (issue 19, B11a): a title
    // change, a screen clear, an 8-bit CSI, a bidi override and a line that fakes a field.
    const hostile =
      "orders \u001b]0;pwned\u0007\u001b[2J\u001b[31mred \u009b1m \u202eevil\n  status:                 enabled";
    await local
      .db()
      .prepare("UPDATE webhook_endpoints SET description = ?2 WHERE id = ?1")
      .bind(endpoint.id, hostile)
      .run();
    const raw = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
    const printable = (out: string) => out.replace(/\n/g, "");

    const shown = await admin("webhook", "endpoint", "show", endpoint.id, "--app", app.id);
    expect(shown.code, shown.stderr).toBe(0);
    expect(printable(shown.stdout)).not.toMatch(raw);
    expect(shown.stdout).toContain(
      "orders \\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mred \\u009b1m \\u202eevil\\u000a  status:",
    );
    // The description's line break does not start a line of its own.
    expect(
      shown.stdout.split("\n").filter((line) => line.trim().startsWith("status:")),
    ).toHaveLength(1);

    const listed = await admin("webhook", "endpoint", "list", "--app", app.id);
    expect(listed.code, listed.stderr).toBe(0);
    expect(printable(listed.stdout)).not.toMatch(raw);
    expect(listed.stdout).toContain("orders \\u001b]0;pwned");

    // JSON escapes what JSON.stringify leaves raw (DEL, C1, bidi); it parses to the stored text.
    for (const args of [
      ["webhook", "endpoint", "show", endpoint.id, "--app", app.id, "--json"],
      ["webhook", "endpoint", "list", "--app", app.id, "--json"],
    ]) {
      const out = await admin(...args);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout.trimEnd()).not.toMatch(raw);
      expect(JSON.stringify(JSON.parse(out.stdout))).toContain(JSON.stringify(hostile));
    }

    // Errors too: what the operator typed comes back escaped on stderr.
    const typed = await admin(
      "webhook",
      "endpoint",
      "\u001b[2J\u009b2J",
      "--app",
      app.id,
      "--json",
    );
    expect(typed.code).toBe(2);
    expect(printable(typed.stderr)).not.toMatch(raw);
    expect(typed.stderr).toContain("unknown command: webhook endpoint \\u001b[2J\\u009b2J");
    expect(typed.stdout.trimEnd()).not.toMatch(raw);
    expect(JSON.parse(typed.stdout)).toEqual({
      error: "unknown command: webhook endpoint \u001b[2J\u009b2J",
    });
  });

  it("redeliver hands the deliveries to wrangler's local queue, which the proxy exposes", async () => {
    const app = await liveApp();
    const endpoint = await endpointOf(app.id);
    const eventId = await givenEvent(app.id, { livemode: true });
    const result = await admin("webhook", "redeliver", eventId, "--app", app.id, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      eventId,
      deliveries: [{ eventId, endpointId: endpoint.id, status: "pending" }],
      sentToQueue: 1,
    });
    const [delivery] = await rows<{ enqueued_at: number | null; generation: number }>(
      "SELECT enqueued_at, generation FROM webhook_deliveries",
    );
    expect(delivery?.enqueued_at).not.toBeNull();
    expect(delivery?.generation).toBe(1);
  });
});
