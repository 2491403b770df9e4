/**
 * `npm run dev`'s outbound webhooks: the loopback receiver (./webhook-receiver.ts) on a fixed
 * port, the demo app's test-mode endpoint on it (registered through the API with the write key,
 * kept across runs in .wrangler/demo-webhook-endpoint.json with its secret, shown once), a line
 * per delivery, and the lines that show how to make it fail and read the retries.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  type ReceivedDelivery,
  startWebhookReceiver,
  type WebhookReceiver,
} from "./webhook-receiver.ts";

/** The receiver's port unless WEBHOOK_RECEIVER_PORT says otherwise (8787 is the worker's). */
const DEFAULT_RECEIVER_PORT = 8789;
/** What marks the endpoints this script registers (an earlier run's, if its file is gone). */
const DEMO_DESCRIPTION = "npm run dev's receiver";

export interface DemoApp {
  appId: string;
  writeKey: string;
  readKey: string;
}

interface SavedEndpoint {
  appId: string;
  endpointId: string;
  secret: string;
}

interface EndpointView {
  id: string;
  url: string;
  status: "enabled" | "disabled";
  description: string | null;
}

export interface DemoEndpoint {
  id: string;
  url: string;
  /** Registered by this run; an earlier run's found again; or found and pointed at the receiver. */
  how: "registered" | "found" | "moved";
  /** Earlier runs' endpoints on the receiver whose secret was lost, deleted now. */
  removed: number;
}

function receiverPort(): number {
  const raw = process.env.WEBHOOK_RECEIVER_PORT ?? String(DEFAULT_RECEIVER_PORT);
  const port = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || port < 1 || port > 65_535) {
    throw new Error(`WEBHOOK_RECEIVER_PORT must be a port number (1-65535), not "${raw}"`);
  }
  return port;
}

const yesNo = (value: boolean) => (value ? "yes" : "no");

/** One line per delivery, as it is answered. */
function deliveryLine(d: ReceivedDelivery): string {
  const why =
    d.status === 503 ? " (told to fail)" : d.status === 400 ? " (signature not verified)" : "";
  return `[receiver] ${d.type ?? "(no type)"}  webhook-id ${d.webhookId || "(none)"}  verified ${yesNo(d.verified)}  answered ${d.status}${why}`;
}

/**
 * The receiver on 127.0.0.1, on WEBHOOK_RECEIVER_PORT or 8789; refuses, naming the port and
 * the way out, when that port is taken.
 */
export async function startDemoReceiver(print: (line: string) => void): Promise<WebhookReceiver> {
  const port = receiverPort();
  try {
    return await startWebhookReceiver({ port, onDelivery: (d) => print(deliveryLine(d)) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new Error(
        `port ${port} is in use, and the demo webhook receiver listens there: stop what uses it, or choose another port (WEBHOOK_RECEIVER_PORT=8790 npm run dev)`,
      );
    }
    throw err;
  }
}

function readSaved(file: string, appId: string): SavedEndpoint | null {
  if (!existsSync(file)) return null;
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Partial<SavedEndpoint>;
    return saved.appId === appId && saved.endpointId && saved.secret?.startsWith("whsec_")
      ? (saved as SavedEndpoint)
      : null;
  } catch {
    return null;
  }
}

/**
 * An earlier run's secret, given to the receiver before the worker starts: deliveries still
 * being retried from that run then verify as soon as they come.
 */
export function knownSecret(file: string, appId: string): string | null {
  return readSaved(file, appId)?.secret ?? null;
}

/** The API, as the demo app: the read key for GETs, the write key for the rest. */
function demoApi(workerOrigin: string, app: DemoApp) {
  return async <T>(method: string, path: string, body?: unknown) => {
    const key =
      method === "GET" ? { key: app.readKey, type: "read" } : { key: app.writeKey, type: "write" };
    const res = await fetch(`${workerOrigin}/api/v1${path}`, {
      method,
      headers: {
        "Content-Type": "application/json",
        "X-API-KEY": key.key,
        "X-API-KEY-TYPE": key.type,
        "X-CLIENT-ID": app.appId,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const envelope = (await res.json().catch(() => null)) as { data?: T; error?: string } | null;
    return {
      status: res.status,
      data: envelope?.data,
      error: envelope?.error ?? `HTTP ${res.status}`,
    };
  };
}

/**
 * The demo app's test-mode endpoint on the receiver: the saved one (its URL moved to the
 * receiver's and enabled again if need be), else a new one, whose secret (shown once) is saved.
 * Earlier runs' endpoints on the receiver whose secret is lost are deleted: they could only
 * fail. Throws with the API's own words when it refuses.
 */
export async function registerDemoEndpoint(s: {
  workerOrigin: string;
  app: DemoApp;
  receiver: WebhookReceiver;
  file: string;
}): Promise<DemoEndpoint> {
  const api = demoApi(s.workerOrigin, s.app);
  const saved = readSaved(s.file, s.app.appId);
  let endpoint: DemoEndpoint | null = null;
  if (saved) {
    const found = await api<{ endpoint: EndpointView }>(
      "GET",
      `/webhook-endpoints/${saved.endpointId}`,
    );
    const current = found.data?.endpoint;
    if (current) {
      if (current.url !== s.receiver.url || current.status !== "enabled") {
        const changed = await api("PATCH", `/webhook-endpoints/${current.id}`, {
          url: s.receiver.url,
          enabled: true,
        });
        if (changed.status !== 200)
          throw new Error(`PATCH /api/v1/webhook-endpoints: ${changed.error}`);
      }
      s.receiver.setSecrets([saved.secret]);
      const how = current.url === s.receiver.url ? "found" : "moved";
      endpoint = { id: current.id, url: s.receiver.url, how, removed: 0 };
    } else if (found.status !== 404) {
      throw new Error(`GET /api/v1/webhook-endpoints/${saved.endpointId}: ${found.error}`);
    }
  }
  if (!endpoint) {
    const made = await api<{ endpoint: EndpointView & { secret: string } }>(
      "POST",
      "/webhook-endpoints",
      { url: s.receiver.url, test: true, description: DEMO_DESCRIPTION },
    );
    const created = made.data?.endpoint;
    if (made.status !== 201 || !created) {
      throw new Error(`POST /api/v1/webhook-endpoints answered ${made.status}: ${made.error}`);
    }
    const record: SavedEndpoint = {
      appId: s.app.appId,
      endpointId: created.id,
      secret: created.secret,
    };
    writeFileSync(s.file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    chmodSync(s.file, 0o600);
    s.receiver.setSecrets([created.secret]);
    endpoint = { id: created.id, url: created.url, how: "registered", removed: 0 };
  }
  const listed = await api<{ endpoints: EndpointView[] }>("GET", "/webhook-endpoints?test=true");
  for (const stale of listed.data?.endpoints ?? []) {
    if (stale.id !== endpoint.id && stale.description === DEMO_DESCRIPTION) {
      const deleted = await api("DELETE", `/webhook-endpoints/${stale.id}`);
      if (deleted.status === 200) endpoint.removed += 1;
    }
  }
  return endpoint;
}

/** "5 s, 5 min, 30 min, …" for the first few waits of a WEBHOOK_RETRY_SECONDS list. */
function retryWaits(schedule: string): string {
  const waits = schedule.split(",").map(Number);
  const human = (s: number) =>
    s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  return waits.length > 3
    ? `${waits.slice(0, 3).map(human).join(", ")}, …`
    : waits.map(human).join(", ");
}

/** The printed lines: where deliveries go, how to make them fail, where the retries show. */
export function webhookUsage(s: {
  workerOrigin: string;
  app: DemoApp;
  receiver: WebhookReceiver;
  endpoint: DemoEndpoint;
  retrySeconds: string;
}): string {
  const read = `-H 'X-API-KEY: ${s.app.readKey}' -H 'X-API-KEY-TYPE: read' -H 'X-CLIENT-ID: ${s.app.appId}'`;
  return `
 Outbound webhooks: the demo app's test-mode endpoint ${s.endpoint.id}
 posts to the receiver on ${s.endpoint.url}, which verifies each delivery with
 the Standard Webhooks library and prints a [receiver] line (type, webhook-id, verified,
 answered status). Pay a checkout above and checkout.completed arrives (with
 checkout.payment_succeeded and invoice.paid). Make the receiver answer 503 to the next 3
 deliveries, pay another checkout, and see each retried with the same webhook-id after
 ${retryWaits(s.retrySeconds)} (WEBHOOK_RETRY_SECONDS):
   curl -s -X POST '${s.receiver.origin}/__receiver/fail?count=3'
 Every attempt (time, status code, duration, error) in the delivery log, and the events:
   curl -s '${s.workerOrigin}/api/v1/webhook-deliveries?endpointId=${s.endpoint.id}' ${read}
   curl -s '${s.workerOrigin}/api/v1/webhook-events?test=true' ${read}
`;
}
