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

export interface WebhookSecrets {
  test: string | undefined;
  live: string | undefined;
}

const SECRET_NAME = {
  test: "STRIPE_WEBHOOK_SECRET_TEST",
  live: "STRIPE_WEBHOOK_SECRET_LIVE",
} as const;

/** The mode an unverified body claims, read only to name a missing secret; never trusted. */
function claimedMode(payload: string): "test" | "live" | null {
  try {
    const livemode = (JSON.parse(payload) as { livemode?: unknown } | null)?.livemode;
    return livemode === true ? "live" : livemode === false ? "test" : null;
  } catch {
    return null;
  }
}

/**
 * Verifies the raw body against the test and the live signing secret (Stripe's SDK, Web
 * Crypto). The event must also claim the mode of the secret that signed it. Any signature
 * failure is the same MESSAGES.invalidSignature: the caller learns nothing about which check failed.
 * A body that claims a mode whose secret is not configured is our fault (500 naming the secret,
 * so Stripe keeps redelivering until the operator sets it). A signed body that is not a JSON
 * event is 400, and nothing of it is logged or echoed.
 */
export async function verifyStripeEvent(
  payload: string,
  signatureHeader: string | undefined,
  secrets: WebhookSecrets,
): Promise<Stripe.Event> {
  const candidates = [
    { secret: secrets.test, livemode: false },
    { secret: secrets.live, livemode: true },
  ].filter(
    (c): c is { secret: string; livemode: boolean } =>
      typeof c.secret === "string" && c.secret.length > 0,
  );
  if (candidates.length === 0) {
    throw new ApiError("internal", MESSAGES.webhookSecretsMissing);
  }
  if (signatureHeader) {
    for (const { secret, livemode } of candidates) {
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
      if (event.livemode === livemode) return event;
    }
  }
  const claimed = claimedMode(payload);
  if (claimed && !candidates.some((c) => c.livemode === (claimed === "live"))) {
    throw new ApiError("internal", MESSAGES.webhookSecretMissing(SECRET_NAME[claimed], claimed));
  }
  throw new ApiError("bad_request", MESSAGES.invalidSignature);
}
