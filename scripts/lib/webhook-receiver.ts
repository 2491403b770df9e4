/**
 * A webhook receiver on loopback, as an app would run one: it verifies every delivery with the
 * Standard Webhooks reference library (`standardwebhooks`) against the endpoint's secrets and
 * answers 204, or 400 when the signature does not verify. It can be told to fail (answer 503)
 * for the next N deliveries or for a share of them, so retries show in the delivery log.
 * `npm run dev` runs one for the demo app; `npm run load` runs a healthy and a failing one.
 *
 * Control routes (loopback only):
 *   POST /__receiver/fail?count=N      fail the next N deliveries
 *   POST /__receiver/fail?rate=0.3     fail 30 % of deliveries from now on (0 stops)
 *   GET  /__receiver/deliveries        what arrived: id, type, verified, answered status
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedDelivery {
  webhookId: string;
  type: string | null;
  verified: boolean;
  status: number;
  at: number;
  body: string;
  /** The Standard Webhooks headers as they came (a test may verify them again itself). */
  headers: Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>;
}

export interface WebhookReceiver {
  origin: string;
  /** The URL to register as the endpoint. */
  url: string;
  /** The endpoint's signing secrets (the current one first; a rotation adds one). */
  setSecrets(secrets: string[]): void;
  failNext(count: number): void;
  failRate(rate: number): void;
  deliveries: ReceivedDelivery[];
  close(): Promise<void>;
}

export interface ReceiverOptions {
  port?: number;
  /** Called for each delivery, after it was answered (npm run dev prints it). */
  onDelivery?: (delivery: ReceivedDelivery) => void;
  /** A random source for failRate (the load harness passes a seeded one). */
  random?: () => number;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function answer(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export async function startWebhookReceiver(
  options: ReceiverOptions = {},
): Promise<WebhookReceiver> {
  const random = options.random ?? Math.random;
  let verifiers: Webhook[] = [];
  let failCount = 0;
  let failShare = 0;
  const deliveries: ReceivedDelivery[] = [];

  const verify = (body: string, headers: Record<string, string>): boolean =>
    verifiers.some((verifier) => {
      try {
        verifier.verify(body, headers);
        return true;
      } catch {
        return false;
      }
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/__receiver/fail" && req.method === "POST") {
      const count = url.searchParams.get("count");
      const rate = url.searchParams.get("rate");
      if (count !== null && /^\d{1,6}$/.test(count)) failCount = Number(count);
      else if (rate !== null && Number(rate) >= 0 && Number(rate) <= 1) failShare = Number(rate);
      else return answer(res, 400, { error: "give count=N or rate=0…1" });
      return answer(res, 200, { failNext: failCount, failRate: failShare });
    }
    if (url.pathname === "/__receiver/deliveries" && req.method === "GET") {
      return answer(
        res,
        200,
        deliveries.map(({ body: _body, headers: _headers, ...rest }) => rest),
      );
    }
    if (req.method !== "POST") return answer(res, 405, { error: "deliveries are POSTs" });
    const body = await readBody(req);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers[name] = value;
    }
    const verified = verify(body, headers);
    let type: string | null = null;
    try {
      type = (JSON.parse(body) as { type?: string }).type ?? null;
    } catch {
      type = null;
    }
    let status = verified ? 204 : 400;
    if (verified && failCount > 0) {
      failCount -= 1;
      status = 503;
    } else if (verified && failShare > 0 && random() < failShare) {
      status = 503;
    }
    const delivery: ReceivedDelivery = {
      webhookId: headers["webhook-id"] ?? "",
      type,
      verified,
      status,
      at: Date.now(),
      body,
      headers: {
        "webhook-id": headers["webhook-id"] ?? "",
        "webhook-timestamp": headers["webhook-timestamp"] ?? "",
        "webhook-signature": headers["webhook-signature"] ?? "",
      },
    };
    deliveries.push(delivery);
    res.writeHead(status);
    res.end();
    options.onDelivery?.(delivery);
  };
  const server: Server = createServer((req, res) => {
    // A request that breaks off (or a throwing onDelivery) must not end the process.
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: `${origin}/webhooks`,
    setSecrets(secrets) {
      verifiers = secrets.map((secret) => new Webhook(secret));
    },
    failNext(count) {
      failCount = count;
    },
    failRate(rate) {
      failShare = rate;
    },
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
