import Stripe from "stripe";
import type * as z from "zod";
import {
  type ChargeAtStripe,
  type CheckoutSessionAtStripe,
  type InvoiceAtStripe,
  type PortalSessionAtStripe,
  STRIPE_OBJECTS,
  type SubscriptionAtStripe,
} from "./objects.ts";

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
  /** Expires an open session (`POST /v1/checkout/sessions/:id/expire`): it can no longer be paid. */
  expireCheckoutSession(id: string, options: RequestOptions): Promise<void>;
  /** Sets a customer's tax treatment (`reverse`: its invoices say "Reverse charge"). */
  updateCustomerTaxExempt(
    customerId: string,
    taxExempt: "reverse" | "none",
    options: RequestOptions,
  ): Promise<void>;
  /** The objects as Stripe says they are now (a connected account's, where it has one). */
  retrieveCheckoutSession(
    id: string,
    stripeAccount: string | null,
  ): Promise<CheckoutSessionAtStripe>;
  retrieveSubscription(id: string, stripeAccount: string | null): Promise<SubscriptionAtStripe>;
  retrieveInvoice(id: string, stripeAccount: string | null): Promise<InvoiceAtStripe>;
  retrieveCharge(id: string, stripeAccount: string | null): Promise<ChargeAtStripe>;
  createPortalSession(
    params: Stripe.BillingPortal.SessionCreateParams,
    options: RequestOptions,
  ): Promise<PortalSessionAtStripe>;
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
    async expireCheckoutSession(id, o) {
      await stripe.checkout.sessions.expire(id, {}, requestOptions(o));
    },
    async updateCustomerTaxExempt(customerId, taxExempt, o) {
      await stripe.customers.update(customerId, { tax_exempt: taxExempt }, requestOptions(o));
    },
    async retrieveCheckoutSession(id, account) {
      return parsed(
        STRIPE_OBJECTS.checkoutSession,
        await stripe.checkout.sessions.retrieve(id, {}, accountOption(account)),
      );
    },
    async retrieveSubscription(id, account) {
      const answer = await stripe.subscriptions.retrieve(id, {}, accountOption(account));
      return parsed(STRIPE_OBJECTS.subscription, answer);
    },
    async retrieveInvoice(id, account) {
      return parsed(
        STRIPE_OBJECTS.invoice,
        await stripe.invoices.retrieve(id, {}, accountOption(account)),
      );
    },
    async retrieveCharge(id, account) {
      return parsed(
        STRIPE_OBJECTS.charge,
        await stripe.charges.retrieve(id, { expand: ["payment_intent"] }, accountOption(account)),
      );
    },
    async createPortalSession(params, o) {
      return parsed(
        STRIPE_OBJECTS.portalSession,
        await stripe.billingPortal.sessions.create(params, requestOptions(o)),
      );
    },
  };
}

const accountOption = (account: string | null): Stripe.RequestOptions =>
  account ? { stripeAccount: account } : {};

/** Stripe's answer in our shape, or MalformedStripeResponse naming what it should have been. */
function parsed<T>(object: { schema: z.ZodType<T>; expected: string }, answer: unknown): T {
  const result = object.schema.safeParse(answer);
  if (!result.success) throw new MalformedStripeResponse(object.expected);
  return result.data;
}
