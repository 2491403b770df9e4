/**
 * Serves the Stripe double (stripe-double/double.ts, the same code the tests use) on loopback,
 * so `wrangler dev` can point STRIPE_API_BASE_URL at it: `npm run stripe:double`.
 * Also serves the double's hosted checkout page (Pay / Cancel), sends the resulting events to
 * WEBHOOK_URL (the worker's webhook route), each signed as Stripe signs it: a connected account's
 * with STRIPE_CONNECT_WEBHOOK_SECRET_TEST/LIVE (its mode's Connect endpoint), the platform's own
 * with STRIPE_WEBHOOK_SECRET_TEST/LIVE, and serves the demo app's success and cancel pages.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Stripe from "stripe";
import * as z from "zod";
import { deliverEvents } from "../stripe-double/delivery.ts";
import { type DoubleEvent, type Fault, StripeDouble } from "../stripe-double/double.ts";
import { handleHostedCheckout } from "../stripe-double/hosted.ts";
import { handleHostedPortal } from "../stripe-double/portal-page.ts";
import { type EndpointSecrets, endpointsOf } from "../stripe-double/wire.ts";
import { billingControl } from "./lib/double-billing-control.ts";

const host = "127.0.0.1";
const port = Number(process.env.STRIPE_DOUBLE_PORT ?? 12111);
const double = new StripeDouble({
  checkoutOrigin: `http://${host}:${port}`,
  latencyMs: Number(process.env.STRIPE_DOUBLE_LATENCY_MS ?? 0),
});
const webhookUrl = process.env.WEBHOOK_URL ?? "http://127.0.0.1:8787/api/v1/webhooks/stripe";
/** Each Stripe endpoint's secret, by the variable that holds it; unset: no such endpoint. */
const SECRET_NAMES: EndpointSecrets = {
  test: "STRIPE_WEBHOOK_SECRET_TEST",
  live: "STRIPE_WEBHOOK_SECRET_LIVE",
  connectTest: "STRIPE_CONNECT_WEBHOOK_SECRET_TEST",
  connectLive: "STRIPE_CONNECT_WEBHOOK_SECRET_LIVE",
};

/**
 * Signs an event with the secret of each endpoint Stripe sends it to (the mode's Connect
 * endpoint for a connected account's event, and the live Connect one too for its test events;
 * else the mode's account endpoint) and posts it to the worker; returns the worker's best status
 * (0 when it could not be sent). Without an endpoint's secret the event is not sent there, as
 * Stripe sends nothing where no endpoint listens.
 */
async function deliverEvent(event: DoubleEvent): Promise<number> {
  const statuses = await Promise.all(
    endpointsOf(event).map((endpoint) => deliverTo(SECRET_NAMES[endpoint], event)),
  );
  return statuses.find((s) => s >= 200 && s < 300) ?? statuses[0] ?? 0;
}

async function deliverTo(name: string, event: DoubleEvent): Promise<number> {
  const payload = JSON.stringify(event);
  const secret = process.env[name] ?? "";
  if (!secret) {
    console.error(`[stripe double] ${name} is not set; ${event.type} not sent there`);
    return 0;
  }
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret });
  try {
    const response = await fetch(webhookUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
      body: payload,
      signal: AbortSignal.timeout(10_000),
    });
    console.log(`[stripe double] ${event.type} → ${webhookUrl}: ${response.status}`);
    return response.status;
  } catch (err) {
    console.error(`[stripe double] ${event.type} → ${webhookUrl} failed: ${String(err)}`);
    return 0;
  }
}

/** One line per session the double holds, and how many create calls reached it. */
export interface DoubleSessionSummaries {
  createRequests: number;
  sessions: {
    id: string;
    status: string;
    paymentStatus: string;
    livemode: boolean;
    mode: string;
    checkoutHash: string | null;
  }[];
}

function sessionSummaries(): DoubleSessionSummaries {
  return {
    createRequests: double.creates().length,
    sessions: [...double.sessions.values()].map((session) => ({
      id: session.id,
      status: session.status,
      paymentStatus: session.payment_status,
      livemode: session.livemode,
      mode: session.mode,
      checkoutHash: session.metadata.checkout_hash ?? null,
    })),
  };
}

/** One fault as the control route takes it (stripe-double/wire.ts, `Fault`). */
const faultSchema: z.ZodType<Fault> = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("status"),
    status: z.int().min(400).max(599),
    afterCreate: z.boolean().optional(),
    type: z.string().max(64).optional(),
    shouldRetry: z.boolean().optional(),
  }),
  z.strictObject({ kind: z.literal("timeout"), afterCreate: z.boolean().optional() }),
  z.strictObject({ kind: z.literal("saved"), status: z.int().min(500).max(599).optional() }),
  z.strictObject({ kind: z.literal("network") }),
  z.strictObject({ kind: z.literal("garbage") }),
  z.strictObject({
    kind: z.literal("delay"),
    ms: z.int().min(0).max(60_000),
    afterCreate: z.boolean().optional(),
  }),
]);
const faultsBodySchema = z.strictObject({ faults: z.array(faultSchema).min(1).max(100) });

/**
 * The faults control route (docs/stripe-double.md): POST queues faults for the next API
 * requests, GET lists the queue, DELETE empties it. So anyone running `npm run dev` can
 * rehearse a Stripe outage against their own app.
 */
async function controlFaults(
  req: IncomingMessage,
  send: (status: number, type: string, body: string) => void,
): Promise<void> {
  const answer = (status: number, body: unknown) =>
    send(status, "application/json", JSON.stringify(body));
  if (req.method === "GET") return answer(200, { faults: double.queuedFaults() });
  if (req.method === "DELETE") {
    double.clearFaults();
    return answer(200, { faults: [] });
  }
  if (req.method !== "POST") return answer(405, { error: "use GET, POST or DELETE" });
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return answer(400, {
      error: 'the body must be JSON: {"faults": [{"kind": "status", "status": 503}]}',
    });
  }
  const parsed = faultsBodySchema.safeParse(body);
  if (!parsed.success) {
    return answer(400, {
      error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    });
  }
  double.fail(...parsed.data.faults);
  return answer(200, { faults: double.queuedFaults() });
}

/**
 * The portal configuration control route (docs/stripe-double.md): saves the customer portal's
 * settings of a mode and account (`account` absent: the platform's own), as an operator does
 * once in Stripe's Dashboard; until then the double, like Stripe, opens no portal session there.
 */
function controlPortalConfiguration(method: string, url: URL): { status: number; body: unknown } {
  if (method !== "POST") return { status: 405, body: { error: "use POST" } };
  const mode = url.searchParams.get("livemode");
  if (mode !== "true" && mode !== "false") {
    return { status: 400, body: { error: "livemode must be true or false" } };
  }
  const account = url.searchParams.get("account");
  if (account !== null && !/^acct_[A-Za-z0-9]+$/.test(account)) {
    const error =
      "account must be a connected account's id (acct_…), or absent for the platform's own";
    return { status: 400, body: { error } };
  }
  const livemode = mode === "true";
  const configuration = double.savePortalConfiguration(livemode, account);
  return { status: 200, body: { saved: { livemode, account, configuration } } };
}

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><body style="font-family:system-ui;max-width:32rem;margin:3rem auto;padding:0 1rem"><h1>${title}</h1><p>${text}</p></body></html>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${host}:${port}`);
  const send = (status: number, type: string, body: string) => {
    res.writeHead(status, { "Content-Type": type });
    res.end(body);
  };

  if (req.method === "GET" && url.pathname === "/demo/success") {
    return send(
      200,
      "text/html; charset=utf-8",
      page("Payment complete", "The demo app's success page."),
    );
  }
  if (req.method === "GET" && url.pathname === "/demo/account") {
    return send(
      200,
      "text/html; charset=utf-8",
      page("Back in the app", "The demo app's account page, where the customer portal returns."),
    );
  }
  if (req.method === "GET" && url.pathname === "/demo/cancel") {
    return send(
      200,
      "text/html; charset=utf-8",
      page("Payment cancelled", "The demo app's cancel page."),
    );
  }
  if (req.method === "POST" && url.pathname === "/__double/latency") {
    double.setLatency(Number(url.searchParams.get("ms") ?? 0));
    double.requests.length = 0;
    return send(200, "application/json", "{}");
  }
  if (req.method === "GET" && url.pathname === "/__double/requests") {
    const requests = double.requests.map(({ headers, ...rest }) => ({
      ...rest,
      headers: { ...headers, authorization: headers.authorization ? "Bearer …" : undefined },
    }));
    return send(200, "application/json", JSON.stringify(requests, null, 2));
  }
  if (url.pathname === "/__double/faults") return controlFaults(req, send);
  if (url.pathname === "/__double/portal-configuration") {
    const { status, body } = controlPortalConfiguration(req.method ?? "GET", url);
    return send(status, "application/json", JSON.stringify(body));
  }
  const control = billingControl(double.billing, req.method ?? "GET", url);
  if (control) {
    if (!control.events)
      return send(control.status, "application/json", JSON.stringify(control.body));
    // Like Stripe: the events go out together (and again after a failure); the answer says
    // what the worker made of each in the end.
    const delivered = (await deliverEvents(control.events, deliverEvent)).map((d) => ({
      type: d.event.type,
      id: d.event.id,
      status: d.status,
      attempts: d.attempts,
    }));
    return send(200, "application/json", JSON.stringify({ events: delivered }));
  }
  if (req.method === "GET" && url.pathname === "/__double/sessions") {
    // For harnesses that reconcile (npm run load): what the double created, compactly.
    return send(200, "application/json", JSON.stringify(sessionSummaries()));
  }

  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await readBody(req);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
  }
  const request = new Request(url, { method: req.method, headers, body });
  const hosted = handleHostedCheckout(double, request) ?? handleHostedPortal(double, request);
  let response: Response;
  if (hosted) {
    // Like Stripe, the events reach the worker (together) before the person reaches the success URL.
    await deliverEvents(hosted.events, deliverEvent);
    response = hosted.response;
  } else {
    response = await double.handle(request);
    // What the call caused (an expiry asked for), sent after the answer, as Stripe does.
    const emitted = double.takeEmittedEvents();
    if (emitted.length > 0) void deliverEvents(emitted, deliverEvent);
  }
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    res.writeHead(500, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { type: "api_error", message: String(err) } }));
  });
});

server.listen(port, host, () => {
  console.log(`Stripe double listening on http://${host}:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
