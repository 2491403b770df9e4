import Stripe from "stripe";
import { type Bindings, type Config, stripeSecretKey } from "../env.ts";

export interface StripeClientOptions {
  secretKey: string;
  apiBaseUrl: string;
  timeoutMs: number;
  maxNetworkRetries: number;
}

export interface CreatedSession {
  id: string;
  url: string;
  livemode: boolean;
}

interface RequestOptions {
  idempotencyKey: string;
  stripeAccount: string | null;
}

/** The narrow surface of Stripe that the service uses; the SDK stays behind it. */
export interface StripeGateway {
  createCheckoutSession(
    params: Stripe.Checkout.SessionCreateParams,
    options: RequestOptions,
  ): Promise<CreatedSession>;
  markCustomerReverseCharge(customerId: string, options: RequestOptions): Promise<void>;
}

/**
 * SDK instances are reused across requests of this isolate: building one is not free, and the
 * options that shape one are few. Bounded, since the options come from config, not callers.
 */
const clients = new Map<string, Stripe>();
const MAX_CACHED_CLIENTS = 8;

function sdkClient(options: StripeClientOptions): Stripe {
  const cacheKey = JSON.stringify(options);
  const cached = clients.get(cacheKey);
  if (cached) return cached;

  const base = new URL(options.apiBaseUrl);
  const protocol = base.protocol === "http:" ? "http" : "https";
  const client = new Stripe(options.secretKey, {
    // Looked up on each call, so the runtime's fetch (or a test's stand-in) is always the one used.
    httpClient: Stripe.createFetchHttpClient((input, init) => fetch(input, init)),
    host: base.hostname,
    port: base.port ? Number(base.port) : protocol === "http" ? 80 : 443,
    protocol,
    timeout: options.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries,
    telemetry: false,
    appInfo: { name: "checkout-edge" },
  });
  if (clients.size >= MAX_CACHED_CLIENTS) clients.clear();
  clients.set(cacheKey, client);
  return client;
}

/** Stripe answered 2xx with something that is not what was asked for. */
export class MalformedStripeResponse extends Error {
  /** What it should have been, as "Stripe answered with …" ends. */
  readonly expected: string;

  constructor(expected: string) {
    super(`Stripe answered with ${expected}`);
    this.expected = expected;
  }
}

export function createStripeGateway(options: StripeClientOptions): StripeGateway {
  const stripe = sdkClient(options);
  const requestOptions = (o: RequestOptions): Stripe.RequestOptions => ({
    idempotencyKey: o.idempotencyKey,
    ...(o.stripeAccount ? { stripeAccount: o.stripeAccount } : {}),
  });

  return {
    async createCheckoutSession(params, o) {
      const session = await stripe.checkout.sessions.create(params, requestOptions(o));
      if (
        typeof session?.id !== "string" ||
        typeof session.url !== "string" ||
        !/^https?:\/\//.test(session.url)
      ) {
        throw new MalformedStripeResponse("something that is not a checkout session");
      }
      return { id: session.id, url: session.url, livemode: session.livemode === true };
    },
    async markCustomerReverseCharge(customerId, o) {
      await stripe.customers.update(customerId, { tax_exempt: "reverse" }, requestOptions(o));
    },
  };
}

/** The gateway of a mode for this deployment: its secret key (500 naming it if missing) and settings. */
export function stripeGatewaysFor(
  env: Bindings,
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
