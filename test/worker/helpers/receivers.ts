/**
 * Webhook receivers the worker's deliveries reach in the tests: every host under
 * RECEIVER_DOMAIN is answered here (setup.ts routes the worker's fetch), with what the test
 * told it to answer, and every request is kept with its exact body and headers.
 */

/** A public-looking domain, so the endpoints pass the no-SSRF rules as real ones do. */
const RECEIVER_DOMAIN = "receivers.example.com";

export interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

type Answer = (request: Received, n: number) => Response | Promise<Response>;

export interface Receiver {
  url: string;
  requests: Received[];
  /** What it answers from now on (the n-th request, counting from 1). */
  answer(with_: Answer): void;
}

const ok: Answer = () => new Response("ok", { status: 200 });
const receivers = new Map<string, { requests: Received[]; answer: Answer }>();

/** A new receiver at its own host, answering 200 unless told otherwise. */
export function newReceiver(answer: Answer = ok, path = "/hooks"): Receiver {
  const host = `r${crypto.randomUUID().slice(0, 8)}.${RECEIVER_DOMAIN}`;
  const state = { requests: [] as Received[], answer };
  receivers.set(host, state);
  return {
    url: `https://${host}${path}`,
    requests: state.requests,
    answer(with_) {
      state.answer = with_;
    },
  };
}

export function isReceiverRequest(url: URL): boolean {
  return url.hostname.endsWith(`.${RECEIVER_DOMAIN}`);
}

/** Answers as the receiver was told to; an aborted request (the worker's timeout) rejects as fetch does. */
export async function handleReceiverRequest(
  request: Request,
  signal?: AbortSignal,
): Promise<Response> {
  const answered = receive(request);
  if (!signal) return answered;
  return Promise.race([
    answered,
    new Promise<Response>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    }),
  ]);
}

async function receive(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const state = receivers.get(url.hostname);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const received = { url: request.url, headers, body: await request.text(), at: Date.now() };
  if (!state) return new Response("no such receiver", { status: 404 });
  state.requests.push(received);
  return state.answer(received, state.requests.length);
}

/** Waits until `check` holds (polling), or fails after `ms`: deliveries run on the queue. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T,
  ms = 8_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
