import { StripeDouble } from "../../../stripe-double/double.ts";

/** The Stripe API origin the tests configure (vitest.config.ts: STRIPE_API_BASE_URL). */
export const STRIPE_ORIGIN = "http://127.0.0.1:12111";

/** One Stripe double for the whole test file; setup.ts resets it before each test. */
export const stripe = new StripeDouble();

/** Outbound requests that reached neither the double nor anything a test expected. */
export const unexpectedRequests: string[] = [];
