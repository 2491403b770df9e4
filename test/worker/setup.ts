import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, expect } from "vitest";
import { handleReceiverRequest, isReceiverRequest } from "./helpers/receivers.ts";
import { STRIPE_ORIGIN, stripe, unexpectedRequests } from "./helpers/stripe.ts";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The worker runs in this isolate, so its fetch is this one: Stripe's origin goes to the
// double (the real SDK still builds the real HTTP requests), webhook deliveries to the test
// receivers (helpers/receivers.ts), and anything else fails loudly.
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (url.origin === STRIPE_ORIGIN) return stripe.handle(request);
  if (isReceiverRequest(url)) return handleReceiverRequest(request, init?.signal ?? undefined);
  unexpectedRequests.push(`${request.method} ${request.url}`);
  throw new Error(`Unexpected outbound request: ${request.method} ${request.url}`);
};

beforeEach(() => {
  stripe.reset();
  unexpectedRequests.length = 0;
});

afterEach(() => {
  expect(unexpectedRequests, "outbound requests that no test expected").toEqual([]);
  // One Idempotency-Key of the worker's never carries two parameter sets (or two endpoints), in
  // any test. (Tests of the double itself misuse keys of their own on purpose.)
  const sent = new Map<string, string>();
  for (const request of stripe.requests) {
    const key = request.headers["idempotency-key"];
    if (!key?.startsWith("checkout-edge-")) continue;
    const what = `${request.method} ${request.path} ${JSON.stringify(Object.entries(request.form).sort())}`;
    expect(sent.get(key) ?? what, `Idempotency-Key ${key} sent with two parameter sets`).toBe(what);
    sent.set(key, what);
  }
});
