import { exports } from "cloudflare:workers";
import Stripe from "stripe";
import { type EndpointSecrets, endpointOf } from "../../../stripe-double/wire.ts";

export const WEBHOOK_SECRET_TEST = "whsec_test_double";
export const WEBHOOK_SECRET_LIVE = "whsec_live_double";
/** The Connect endpoints' secrets (vitest.config.ts): Stripe signs connected accounts' events with them. */
export const WEBHOOK_SECRET_CONNECT_TEST = "whsec_test_connect_double";
export const WEBHOOK_SECRET_CONNECT_LIVE = "whsec_live_connect_double";
const SECRETS: EndpointSecrets = {
  test: WEBHOOK_SECRET_TEST,
  live: WEBHOOK_SECRET_LIVE,
  connectTest: WEBHOOK_SECRET_CONNECT_TEST,
  connectLive: WEBHOOK_SECRET_CONNECT_LIVE,
};

/**
 * The secret Stripe signs this event with: its mode's, of the Connect endpoint when it carries
 * `account`. Every helper below signs with it unless a test names another secret.
 */
function signingSecretFor(event: unknown): string {
  return SECRETS[endpointOf(event)];
}

/** The signing secret of a body by what it parses to; one that is not JSON gets the test account's. */
function signingSecretOf(payload: string): string {
  try {
    return signingSecretFor(JSON.parse(payload));
  } catch {
    return WEBHOOK_SECRET_TEST;
  }
}

const cryptoProvider = Stripe.createSubtleCryptoProvider();

export interface SessionEventOptions {
  id?: string;
  livemode?: boolean;
  account?: string;
  created?: number;
}

/** A Stripe event as Stripe sends it, about a Checkout Session. */
export function sessionEvent(
  type: string,
  session: Record<string, unknown> & { id: string },
  options: SessionEventOptions = {},
) {
  return {
    id: options.id ?? `evt_${crypto.randomUUID().replace(/-/g, "")}`,
    object: "event",
    api_version: Stripe.API_VERSION,
    type,
    livemode: options.livemode ?? false,
    created: options.created ?? Math.floor(Date.now() / 1000),
    ...(options.account ? { account: options.account } : {}),
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: {
      object: {
        object: "checkout.session",
        livemode: options.livemode ?? false,
        metadata: {},
        ...session,
      },
    },
  };
}

/** Posts exactly these bytes, signed as Stripe would sign them: for bodies that are not events. */
export async function deliverSigned(payload: string, secret = signingSecretOf(payload)) {
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    timestamp: Math.floor(Date.now() / 1000),
    cryptoProvider,
  });
  const response = await exports.default.fetch(
    new Request("https://pay.example.test/api/v1/webhooks/stripe", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
      body: payload,
    }),
  );
  return { status: response.status, text: await response.text() };
}

/** Stripe's POST of an event, signed with the SDK's own test-header helper. */
export async function signedEventRequest(event: unknown): Promise<Request> {
  const payload = JSON.stringify(event);
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: signingSecretFor(event),
    timestamp: Math.floor(Date.now() / 1000),
    cryptoProvider,
  });
  return new Request("https://pay.example.test/api/v1/webhooks/stripe", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
    body: payload,
  });
}

/** Posts an event signed with the SDK's own test-header helper, with its endpoint's secret by default. */
export async function deliver(
  event: unknown,
  options: { secret?: string; timestamp?: number; signature?: string | null; body?: string } = {},
) {
  const payload = options.body ?? JSON.stringify(event);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (options.signature !== null) {
    headers["Stripe-Signature"] =
      options.signature ??
      (await Stripe.webhooks.generateTestHeaderStringAsync({
        payload: JSON.stringify(event),
        secret: options.secret ?? signingSecretFor(event),
        timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
        cryptoProvider,
      }));
  }
  const response = await exports.default.fetch(
    new Request("https://pay.example.test/api/v1/webhooks/stripe", {
      method: "POST",
      headers,
      body: payload,
    }),
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
