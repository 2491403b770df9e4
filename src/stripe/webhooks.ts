import Stripe from "stripe";
import * as z from "zod";
import { ApiError } from "../errors.ts";

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

/**
 * Verifies the raw body against the test and the live signing secret (Stripe's SDK, Web
 * Crypto). The event must also claim the mode of the secret that signed it. Any failure is the
 * same "Invalid signature": the caller learns nothing about which check failed.
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
    throw new ApiError(
      "internal",
      "Service misconfigured: the secrets STRIPE_WEBHOOK_SECRET_TEST and STRIPE_WEBHOOK_SECRET_LIVE are missing",
    );
  }
  if (signatureHeader) {
    for (const { secret, livemode } of candidates) {
      try {
        const event = await Stripe.webhooks.constructEventAsync(
          payload,
          signatureHeader,
          secret,
          SIGNATURE_TOLERANCE_SECONDS,
          cryptoProvider,
        );
        if (!eventShape.safeParse(event).success)
          throw new ApiError("bad_request", "Malformed event");
        if (event.livemode === livemode) return event;
      } catch (err) {
        if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw err;
      }
    }
  }
  throw new ApiError("bad_request", "Invalid signature");
}
