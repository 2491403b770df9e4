import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_RETENTION_MS } from "../../stripe-double/idempotency.ts";
import { stripe as double, STRIPE_ORIGIN } from "./helpers/stripe.ts";

/**
 * The double is as strict as Stripe where it hid bugs (issue 12, item 12): idempotent results
 * as Stripe keeps them, and `expires_at` without slack. Driven through the real SDK, as the
 * worker drives it (no SDK retries, so each call is one request).
 */
const base = new URL(STRIPE_ORIGIN);
const sdk = new Stripe("sk_test_double_0123456789", {
  httpClient: Stripe.createFetchHttpClient((input, init) => fetch(input, init)),
  host: base.hostname,
  port: Number(base.port),
  protocol: "http",
  maxNetworkRetries: 0,
  telemetry: false,
});

function sessionParams(
  overrides: Partial<Stripe.Checkout.SessionCreateParams> = {},
): Stripe.Checkout.SessionCreateParams {
  return {
    mode: "payment",
    success_url: "https://app.example.test/ok",
    cancel_url: "https://app.example.test/no",
    line_items: [{ price: "price_eur_once", quantity: 1 }],
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    ...overrides,
  };
}

async function refusal(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error("Stripe (the double) did not refuse");
}

describe("the Stripe double's idempotency layer", () => {
  it("replays a key's result, and refuses the key with other parameters or on another endpoint", async () => {
    const params = sessionParams();
    const first = await sdk.checkout.sessions.create(params, { idempotencyKey: "k-replay" });
    const again = await sdk.checkout.sessions.create(params, { idempotencyKey: "k-replay" });
    expect(again.id).toBe(first.id);
    expect(double.sessions.size).toBe(1);

    const other = await refusal(
      sdk.checkout.sessions.create(sessionParams({ expires_at: (params.expires_at ?? 0) + 60 }), {
        idempotencyKey: "k-replay",
      }),
    );
    expect(other).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(other.statusCode).toBe(400);
    expect(other.message).toMatch(
      /^Keys for idempotent requests can only be used with the same parameters/,
    );

    const elsewhere = await refusal(
      sdk.customers.update(
        double.addCustomer(false),
        { tax_exempt: "reverse" },
        {
          idempotencyKey: "k-replay",
        },
      ),
    );
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.message).toMatch(/same endpoint they were first used for/);
  });

  it("keeps an executed refusal (no such price) under its key, like a success", async () => {
    const params = sessionParams({ line_items: [{ price: "price_soon", quantity: 1 }] });
    const first = await refusal(
      sdk.checkout.sessions.create(params, { idempotencyKey: "k-refused" }),
    );
    expect(first.code).toBe("resource_missing");
    double.prices.price_soon = { currency: "eur", recurring: false };
    const replayed = await refusal(
      sdk.checkout.sessions.create(params, { idempotencyKey: "k-refused" }),
    );
    expect(replayed.message).toBe("No such price: 'price_soon'");
    // A new key executes afresh.
    expect((await sdk.checkout.sessions.create(params, { idempotencyKey: "k-new" })).id).toMatch(
      /^cs_test_/,
    );
  });

  it("keeps nothing for a request refused before execution (its parameters)", async () => {
    const bad = await refusal(
      sdk.checkout.sessions.create(
        { ...sessionParams(), line_items: [{ price: "price_eur_once", quantity: 0 }] },
        { idempotencyKey: "k-invalid" },
      ),
    );
    expect(bad.param).toBe("line_items[0][quantity]");
    const corrected = await sdk.checkout.sessions.create(sessionParams(), {
      idempotencyKey: "k-invalid",
    });
    expect(corrected.id).toMatch(/^cs_test_/);
  });

  it("answers a request whose key is still in flight with 409", async () => {
    double.fail({ kind: "delay", ms: 200 });
    const params = sessionParams();
    const [slow, concurrent] = await Promise.allSettled([
      sdk.checkout.sessions.create(params, { idempotencyKey: "k-flight" }),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
        sdk.checkout.sessions.create(params, { idempotencyKey: "k-flight" }),
      ),
    ]);
    expect(slow.status).toBe("fulfilled");
    expect(concurrent.status).toBe("rejected");
    const err = (concurrent as PromiseRejectedResult).reason as Stripe.errors.StripeError;
    expect(err.statusCode).toBe(409);
    expect((err.raw as { type?: string }).type).toBe("idempotency_error");
    expect(double.sessions.size).toBe(1);
  });

  it("executes a request at once under a late-answer delay, and answers it only after the delay", async () => {
    double.fail({ kind: "delay", ms: 300, afterCreate: true });
    const params = sessionParams();
    const started = Date.now();
    const slow = sdk.checkout.sessions.create(params, { idempotencyKey: "k-late" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Executed already: the session exists before its answer arrives.
    expect(double.sessions.size).toBe(1);
    expect((await slow).id).toMatch(/^cs_test_/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("forgets a key after 24 hours, by its own clock", async () => {
    const params = sessionParams();
    await sdk.checkout.sessions.create(params, { idempotencyKey: "k-old" });
    double.advanceClock(IDEMPOTENCY_RETENTION_MS + 1_000);
    const later = sessionParams({ expires_at: double.nowSeconds() + 3600 });
    const fresh = await sdk.checkout.sessions.create(later, { idempotencyKey: "k-old" });
    expect(fresh.id).toMatch(/^cs_test_/);
    expect(double.sessions.size).toBe(2);
  });
});

describe("the Stripe double's expires_at", () => {
  it("takes 30 minutes to 24 hours from the session's creation, without slack", async () => {
    const now = () => double.nowSeconds();
    const tooSoon = await refusal(
      sdk.checkout.sessions.create(sessionParams({ expires_at: now() + 30 * 60 - 1 })),
    );
    expect(tooSoon.param).toBe("expires_at");
    const tooLate = await refusal(
      sdk.checkout.sessions.create(sessionParams({ expires_at: now() + 24 * 3600 + 1 })),
    );
    expect(tooLate.param).toBe("expires_at");
    expect(
      (await sdk.checkout.sessions.create(sessionParams({ expires_at: now() + 30 * 60 + 2 }))).id,
    ).toMatch(/^cs_test_/);
  });
});

describe("the Stripe double, as Stripe is unkind (issue 19)", () => {
  it("saves a 5xx that began executing under its key, and replays it for 24 hours", async () => {
    double.fail({ kind: "saved" });
    const key = "saved-500-key";
    const first = await refusal(
      sdk.checkout.sessions.create(sessionParams(), { idempotencyKey: key }),
    );
    expect(first.statusCode).toBe(500);
    expect(first.headers?.["stripe-should-retry"]).toBe("false");
    // It executed: a session exists that nobody was told of.
    expect(double.sessions.size).toBe(1);
    const again = await refusal(
      sdk.checkout.sessions.create(sessionParams(), { idempotencyKey: key }),
    );
    expect(again.statusCode).toBe(500);
    expect(again.headers?.["idempotent-replayed"]).toBe("true");
    expect(double.sessions.size).toBe(1);
    double.advanceClock(IDEMPOTENCY_RETENTION_MS + 60_000);
    expect(
      await sdk.checkout.sessions.create(
        sessionParams({ expires_at: double.nowSeconds() + 3600 }),
        { idempotencyKey: key },
      ),
    ).toMatchObject({ object: "checkout.session" });
  });

  it("answers a deleted customer's GET with deleted: true, and another mode's with 404", async () => {
    const id = double.addCustomer(false);
    expect(await sdk.customers.retrieve(id)).toMatchObject({
      id,
      object: "customer",
      tax_exempt: "none",
    });
    double.deleteCustomer(id);
    expect(await sdk.customers.retrieve(id)).toEqual({ id, object: "customer", deleted: true });
    const live = double.addCustomer(true);
    expect((await refusal(sdk.customers.retrieve(live))).statusCode).toBe(404);
  });

  it("makes subscriptions in flexible billing mode unless asked for classic", async () => {
    expect(double.billing.billingMode).toBe("flexible");
    double.billing.billingMode = "classic";
    double.reset();
    expect(double.billing.billingMode).toBe("flexible");
  });
});

describe("the Stripe double's GET of a checkout session (issue 19, B8)", () => {
  it("answers the fields a completion carries, as Stripe shows them before and after payment", async () => {
    const created = await sdk.checkout.sessions.create(
      sessionParams({ customer_creation: "always", metadata: { checkout_hash: "h1" } }),
    );
    const open = await sdk.checkout.sessions.retrieve(created.id);
    expect(open).toMatchObject({
      id: created.id,
      object: "checkout.session",
      status: "open",
      payment_status: "unpaid",
      mode: "payment",
      livemode: false,
      customer: null,
      subscription: null,
      payment_intent: null,
      setup_intent: null,
      metadata: { checkout_hash: "h1" },
    });
    expect(open).not.toHaveProperty("form");
    expect(open).not.toHaveProperty("account");

    double.completeSession(created.id);
    const paid = await sdk.checkout.sessions.retrieve(created.id);
    expect(paid).toMatchObject({ status: "complete", payment_status: "paid", url: null });
    expect(paid.customer).toMatch(/^cus_/);
    expect(paid.payment_intent).toMatch(/^pi_/);
  });

  it("refuses parameters a read does not take, and answers 404 resource_missing in another account", async () => {
    const created = await sdk.checkout.sessions.create(sessionParams());
    const unknown = await refusal(
      sdk.checkout.sessions.retrieve(created.id, {
        limit: 3,
      } as Stripe.Checkout.SessionRetrieveParams),
    );
    expect(unknown).toMatchObject({
      statusCode: 400,
      code: "parameter_unknown",
      message: "Received unknown parameter: limit",
    });
    const elsewhere = await refusal(
      sdk.checkout.sessions.retrieve(created.id, {}, { stripeAccount: "acct_other1" }),
    );
    expect(elsewhere).toMatchObject({
      statusCode: 404,
      code: "resource_missing",
      message: `No such checkout.session: '${created.id}'`,
    });
  });
});

describe("the Stripe double's customer portal settings (issue 19, A5)", () => {
  // Stripe's words (docs/stripe-double.md names where they are from).
  const NOT_SAVED = {
    test: "You can’t create a portal session in test mode until you save your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.",
    live: "You can’t create a portal session in live mode until you save your customer portal settings in live mode at https://dashboard.stripe.com/settings/billing/portal.",
  };
  const RETURN_URL = "https://app.example.test/account";
  const liveSdk = new Stripe("sk_live_double_0123456789", {
    httpClient: Stripe.createFetchHttpClient((input, init) => fetch(input, init)),
    host: base.hostname,
    port: Number(base.port),
    protocol: "http",
    maxNetworkRetries: 0,
    telemetry: false,
  });

  it("refuses a portal session until its settings are saved for that mode and account, as Stripe does", async () => {
    const customer = double.addCustomer(false);
    const open = () => sdk.billingPortal.sessions.create({ customer, return_url: RETURN_URL });
    const refused = await refusal(open());
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect({
      status: refused.statusCode,
      type: refused.rawType,
      message: refused.message,
      code: refused.code,
      param: refused.param,
    }).toEqual({
      status: 400,
      type: "invalid_request_error",
      message: NOT_SAVED.test,
      code: undefined,
      param: undefined,
    });
    // Settings of the other mode, or of a connected account, are not this account's.
    double.savePortalConfiguration(true, null);
    double.savePortalConfiguration(false, "acct_1Other");
    expect((await refusal(open())).message).toBe(NOT_SAVED.test);
    double.savePortalConfiguration(false, null);
    const session = await open();
    expect(session.url).toMatch(/\/p\/session\/bps_/);
    expect(session.configuration).toMatch(/^bpc_/);
    // Saving again keeps the one default configuration.
    double.savePortalConfiguration(false, null);
    expect((await open()).configuration).toBe(session.configuration);
  });

  it("says so in live mode, and a connected account needs settings of its own", async () => {
    const account = "acct_1Connected";
    const customer = double.addCustomer(true, account);
    const open = () =>
      liveSdk.billingPortal.sessions.create(
        { customer, return_url: RETURN_URL },
        { stripeAccount: account },
      );
    expect((await refusal(open())).message).toBe(NOT_SAVED.live);
    double.savePortalConfiguration(true, null);
    expect((await refusal(open())).message).toBe(NOT_SAVED.live);
    double.savePortalConfiguration(true, account);
    expect((await open()).livemode).toBe(true);
  });

  it("keeps the refusal under its key (Stripe began executing it); a new key opens the portal", async () => {
    const customer = double.addCustomer(false);
    const params = { customer, return_url: RETURN_URL };
    await refusal(sdk.billingPortal.sessions.create(params, { idempotencyKey: "k-portal" }));
    double.savePortalConfiguration(false, null);
    const replayed = await refusal(
      sdk.billingPortal.sessions.create(params, { idempotencyKey: "k-portal" }),
    );
    expect(replayed.message).toBe(NOT_SAVED.test);
    const fresh = await sdk.billingPortal.sessions.create(params, { idempotencyKey: "k-fresh" });
    expect(fresh.customer).toBe(customer);
    // reset() forgets the settings, as every test starts with none saved.
    double.reset();
    const again = double.addCustomer(false);
    expect(
      (
        await refusal(
          sdk.billingPortal.sessions.create({ customer: again, return_url: RETURN_URL }),
        )
      ).message,
    ).toBe(NOT_SAVED.test);
  });
});
