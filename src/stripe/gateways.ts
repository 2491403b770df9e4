import {
  type Config,
  type ServiceVars,
  type STRIPE_CLIENT_VARS,
  stripeSecretKey,
} from "../config.ts";
import { createStripeGateway, type StripeGateway } from "./client.ts";

/** The gateway of a mode for this deployment: its secret key (500 naming it if missing) and settings. */
export function stripeGatewaysFor(
  env: ServiceVars,
  config: Pick<Config, (typeof STRIPE_CLIENT_VARS)[number]>,
): (livemode: boolean) => StripeGateway {
  return (livemode) =>
    createStripeGateway({
      secretKey: stripeSecretKey(env, livemode),
      apiBaseUrl: config.STRIPE_API_BASE_URL,
      timeoutMs: config.STRIPE_TIMEOUT_MS,
      maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
    });
}
