import { type Config, type ServiceVars, stripeSecretKey } from "../config.ts";
import { createStripeGateway, type StripeGateway } from "./client.ts";

/** The gateway of a mode for this deployment: its secret key (500 naming it if missing) and settings. */
export function stripeGatewaysFor(
  env: ServiceVars,
  config: Config,
): (livemode: boolean) => StripeGateway {
  return (livemode) =>
    createStripeGateway({
      secretKey: stripeSecretKey(env, livemode),
      apiBaseUrl: config.STRIPE_API_BASE_URL,
      timeoutMs: config.STRIPE_TIMEOUT_MS,
      maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
    });
}
