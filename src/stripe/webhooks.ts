import Stripe from "stripe";
import * as z from "zod";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";

/** Stripe's own default: a signature older than five minutes is refused (replay protection). */
const SIGNATURE_TOLERANCE_SECONDS = 300;
const cryptoProvider = Stripe.createSubtleCryptoProvider();

/** What every event must be before anything reads it: signed does not mean well formed. */
const eventShape = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  livemode: z.boolean(),
  created: z.int().nonnegative(),
  account: z.string().min(1).optional(),
  data: z.looseObject({ object: z.looseObject({}) }),
});

/**
 * The signing secrets of the service's Stripe endpoints: per mode, the account endpoint's (the
 * platform's own events) and the Connect endpoint's (connected accounts' events, optional).
 */
export interface WebhookSecrets {
  test: string | undefined;
  live: string | undefined;
  connectTest: string | undefined;
  connectLive: string | undefined;
}

/** Each endpoint by the secret that signs its events, and what those events are. */
const ENDPOINTS = [
  { key: "test", name: "STRIPE_WEBHOOK_SECRET_TEST", mode: "test", connect: false },
  { key: "live", name: "STRIPE_WEBHOOK_SECRET_LIVE", mode: "live", connect: false },
  { key: "connectTest", name: "STRIPE_CONNECT_WEBHOOK_SECRET_TEST", mode: "test", connect: true },
  { key: "connectLive", name: "STRIPE_CONNECT_WEBHOOK_SECRET_LIVE", mode: "live", connect: true },
] as const;
type Endpoint = (typeof ENDPOINTS)[number];

/**
 * Whether this endpoint receives the (shape-checked) event: `account` only on Connect; its
 * mode, except that the live Connect endpoint also receives connected accounts' test events
 * (Stripe sends the test events of an account connected in live mode there, and to both
 * Connect endpoints for one connected in both: support.stripe.com/questions/connect-account-webhook-configurations;
 * the event's `livemode` says which mode it is of, and the duplicate is taken once).
 */
function receivedBy(endpoint: Endpoint, event: Stripe.Event): boolean {
  if ((event.account !== undefined) !== endpoint.connect) return false;
  if (endpoint.key === "connectLive") return true;
  return event.livemode === (endpoint.mode === "live");
}

/**
 * The endpoint an unverified body claims to come from (its `livemode`, and an `account` as the
 * event shape takes it: a non-empty string), read only to name a missing secret; never trusted.
 */
function claimedEndpoint(payload: string): Endpoint | null {
  try {
    const body = JSON.parse(payload) as { livemode?: unknown; account?: unknown } | null;
    if (typeof body?.livemode !== "boolean") return null;
    const mode = body.livemode ? "live" : "test";
    const connect = typeof body.account === "string" && body.account !== "";
    return ENDPOINTS.find((e) => e.mode === mode && e.connect === connect) ?? null;
  } catch {
    return null;
  }
}

/**
 * Verifies the raw body against the configured signing secrets (Stripe's SDK, Web Crypto). The
 * event must also be what the endpoint of the secret that signed it receives: its mode, and
 * `account` exactly when that is a Connect endpoint (Stripe sends a connected account's events
 * only there). Any signature failure is the same MESSAGES.invalidSignature: the caller learns
 * nothing about which check failed. A body that claims a mode, or a connected account, whose
 * secret is not configured is our fault (500 naming the secret, so Stripe keeps redelivering
 * until the operator sets it). A signed body that is not a JSON event is 400, and nothing of it
 * is logged or echoed.
 */
export async function verifyStripeEvent(
  payload: string,
  signatureHeader: string | undefined,
  secrets: WebhookSecrets,
): Promise<Stripe.Event> {
  const configured = ENDPOINTS.flatMap((endpoint) => {
    const secret = secrets[endpoint.key];
    return typeof secret === "string" && secret.length > 0 ? [{ endpoint, secret }] : [];
  });
  if (!configured.some(({ endpoint }) => !endpoint.connect)) {
    throw new ApiError("internal", MESSAGES.webhookSecretsMissing);
  }
  if (signatureHeader) {
    for (const { endpoint, secret } of configured) {
      let event: Stripe.Event;
      try {
        event = await Stripe.webhooks.constructEventAsync(
          payload,
          signatureHeader,
          secret,
          SIGNATURE_TOLERANCE_SECONDS,
          cryptoProvider,
        );
      } catch (err) {
        if (err instanceof Stripe.errors.StripeSignatureVerificationError) continue;
        // The signature verified, so the SDK failed on the body itself: it is not JSON. The
        // cause is dropped on purpose: its message quotes the body.
        throw new ApiError("bad_request", MESSAGES.eventNotJson);
      }
      if (!eventShape.safeParse(event).success) {
        throw new ApiError("bad_request", MESSAGES.eventNotStripe);
      }
      if (receivedBy(endpoint, event)) return event;
    }
  }
  const claimed = claimedEndpoint(payload);
  if (claimed && !configured.some(({ endpoint }) => endpoint === claimed)) {
    const missing = claimed.connect
      ? MESSAGES.connectWebhookSecretMissing(claimed.name, claimed.mode)
      : MESSAGES.webhookSecretMissing(claimed.name, claimed.mode);
    throw new ApiError("internal", missing);
  }
  throw new ApiError("bad_request", MESSAGES.invalidSignature);
}
