/**
 * Outbound webhooks end to end on this machine, as `npm run dev` runs them: the worker under
 * `wrangler dev` with its local Queues, the Stripe double's server, and the loopback receiver
 * (scripts/lib/webhook-receiver.ts), which verifies with the Standard Webhooks reference library.
 * An endpoint is registered through the API, a checkout is paid at the double, and
 * checkout.completed arrives signed; a delivery the receiver refuses (503) is retried with the
 * same webhook-id and then delivered, as GET /api/v1/webhook-deliveries shows attempt by attempt.
 * No browser: this runs wherever the e2e project does.
 */
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import {
  type ReceivedDelivery,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../../scripts/lib/webhook-receiver.ts";
import { exampleCreateBody } from "../../src/schemas/example-body.ts";

let stack: LocalStack;
let receiver: WebhookReceiver;
let endpoint: { id: string; secret: string };

/** Retries after 1 s each, so a failed attempt's retry comes within the test's time. */
const RETRY_SECONDS = "1,1,1";
/** How long a delivery may take to arrive (the queue's batch timeout is 1 s) or be recorded. */
const ARRIVAL_MS = 20_000;

beforeAll(async () => {
  [stack, receiver] = await Promise.all([
    startLocalStack({ vars: { WEBHOOK_RETRY_SECONDS: RETRY_SECONDS } }),
    startWebhookReceiver(),
  ]);
}, 180_000);

afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
}, 60_000);

const readHeaders = () => ({
  "X-API-KEY": stack.readKey,
  "X-API-KEY-TYPE": "read",
  "X-CLIENT-ID": stack.appId,
});
const writeHeaders = () => ({
  "Content-Type": "application/json",
  "X-API-KEY": stack.writeKey,
  "X-API-KEY-TYPE": "write",
  "X-CLIENT-ID": stack.appId,
});

/** Polls `probe` until it gives a value, for at most `ms`; then fails naming what it waited for. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + ARRIVAL_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${ARRIVAL_MS} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A checkout created through the API and paid at the double's hosted page (Pay). */
async function paidCheckout(): Promise<string> {
  const created = await fetch(`${stack.workerOrigin}/api/v1/checkout-sessions`, {
    method: "POST",
    headers: writeHeaders(),
    body: JSON.stringify(exampleCreateBody(randomBytes(32).toString("hex"))),
  });
  expect(created.status).toBe(200);
  const { id } = ((await created.json()) as { data: { checkout: { id: string } } }).data.checkout;
  // The double sends Stripe's signed events to the worker before it answers.
  const paid = await fetch(`${stack.stripeOrigin}/c/pay/${id}/pay`, {
    method: "POST",
    redirect: "manual",
  });
  expect(paid.status).toBe(303);
  return id;
}

interface Delivery {
  eventId: string;
  endpointId: string;
  status: string;
  attemptCount: number;
  deliveredAt: string | null;
  attempts: { attempt: number; statusCode: number | null; error: string | null }[];
}

async function deliveriesOfEndpoint(): Promise<Delivery[]> {
  const res = await fetch(
    `${stack.workerOrigin}/api/v1/webhook-deliveries?endpointId=${endpoint.id}`,
    { headers: readHeaders() },
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { deliveries: Delivery[] } }).data.deliveries;
}

/**
 * The endpoint's delivery log once every delivery is delivered. The double sends all of a
 * payment's Stripe events before it answers the Pay, and the worker writes the outbox in the
 * batch it answers after, so every delivery of a paid checkout is in the log by then.
 */
const settledLog = () =>
  until("every delivery recorded delivered", async () => {
    const log = await deliveriesOfEndpoint();
    return log.length > 0 && log.every((d) => d.status === "delivered") ? log : undefined;
  });

/** The events of the first test's payment, each delivered at its first attempt. */
let firstPayment: Set<string>;

const objectOf = (d: ReceivedDelivery) => (JSON.parse(d.body) as { object: { id: string } }).object;

describe("outbound webhooks on loopback (wrangler dev, its Queues, the Stripe double)", () => {
  it("registers an endpoint through the API; paying at the double sends checkout.completed, signed", async () => {
    const res = await fetch(`${stack.workerOrigin}/api/v1/webhook-endpoints`, {
      method: "POST",
      headers: writeHeaders(),
      body: JSON.stringify({ url: receiver.url, test: true, description: "e2e receiver" }),
    });
    expect(res.status).toBe(201);
    const created = (
      (await res.json()) as { data: { endpoint: typeof endpoint & { url: string } } }
    ).data.endpoint;
    expect(created.url).toBe(receiver.url);
    expect(created.secret).toMatch(/^whsec_/);
    endpoint = { id: created.id, secret: created.secret };
    receiver.setSecrets([endpoint.secret]);

    const sessionId = await paidCheckout();
    const arrived = await until("checkout.completed at the receiver", () =>
      receiver.deliveries.find(
        (d) => d.type === "checkout.completed" && objectOf(d).id === sessionId,
      ),
    );
    expect(arrived).toMatchObject({ verified: true, status: 204 });
    // The reference library itself, on the very bytes and headers that came: the secret shown
    // once verifies them, another secret does not.
    const payload = new Webhook(endpoint.secret).verify(arrived.body, arrived.headers);
    expect(payload).toMatchObject({
      id: arrived.webhookId,
      type: "checkout.completed",
      appId: stack.appId,
      livemode: false,
      object: { kind: "checkout", id: sessionId, status: "complete" },
    });
    const other = `whsec_${randomBytes(32).toString("base64")}`;
    expect(() => new Webhook(other).verify(arrived.body, arrived.headers)).toThrow();

    // The event the API lists is the one that came.
    const events = await fetch(
      `${stack.workerOrigin}/api/v1/webhook-events?test=true&type=checkout.completed`,
      { headers: readHeaders() },
    );
    expect(events.status).toBe(200);
    const listed = ((await events.json()) as { data: { events: { id: string }[] } }).data.events;
    expect(listed.map((e) => e.id)).toContain(arrived.webhookId);

    // Each of the payment's events (a card payment has more than checkout.completed) came once.
    const log = await settledLog();
    expect(log.length).toBeGreaterThan(1);
    expect(log.every((d) => d.attemptCount === 1)).toBe(true);
    expect(receiver.deliveries.map((d) => d.webhookId).sort()).toEqual(
      log.map((d) => d.eventId).sort(),
    );
    expect(receiver.deliveries.every((d) => d.verified && d.status === 204)).toBe(true);
    firstPayment = new Set(log.map((d) => d.eventId));
  });

  it("retries a delivery the receiver refused (503) with the same webhook-id, and the log shows both attempts", async () => {
    expect(firstPayment, "the first test registers the endpoint and pays").toBeDefined();
    const before = receiver.deliveries.length;
    receiver.failNext(1);
    const sessionId = await paidCheckout();

    const fresh = () => receiver.deliveries.slice(before);
    const refused = await until("a delivery answered 503", () =>
      fresh().find((d) => d.status === 503),
    );
    expect(refused.verified).toBe(true);
    const retried = await until(`the retry of ${refused.webhookId}`, () =>
      fresh().find((d) => d.webhookId === refused.webhookId && d.status === 204),
    );
    expect(retried.verified).toBe(true);
    // The same event, byte for byte; signed again for the retry's time.
    expect(retried.body).toBe(refused.body);
    expect(retried.at).toBeGreaterThan(refused.at);

    // The receiver has its answer before the worker records the attempt: wait for the record.
    const log = (await settledLog()).filter((d) => !firstPayment.has(d.eventId));
    const logged = log.find((d) => d.eventId === refused.webhookId);
    expect(logged).toMatchObject({ endpointId: endpoint.id, attemptCount: 2 });
    expect(logged?.deliveredAt).not.toBeNull();
    // Newest first: the delivered retry, then the refused first attempt.
    expect(logged?.attempts).toMatchObject([
      { attempt: 2, statusCode: 204, error: null },
      { attempt: 1, statusCode: 503, error: "answered 503" },
    ]);

    // The payment's other events were not refused: each delivered once, at its first attempt.
    const others = log.filter((d) => d.eventId !== refused.webhookId);
    expect(others.length).toBeGreaterThan(0);
    for (const other of others) {
      expect(other.attempts).toMatchObject([{ attempt: 1, statusCode: 204, error: null }]);
    }
    expect(fresh()).toHaveLength(log.length + 1);
    expect(
      fresh().some((d) => d.type === "checkout.completed" && objectOf(d).id === sessionId),
    ).toBe(true);
  });
});
