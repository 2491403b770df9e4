import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, validBody } from "./helpers/http.ts";
import { findLeaks } from "./helpers/leaks.ts";
import {
  deliver,
  sessionEvent,
  WEBHOOK_SECRET_CONNECT_LIVE,
  WEBHOOK_SECRET_CONNECT_TEST,
  WEBHOOK_SECRET_LIVE,
  WEBHOOK_SECRET_TEST,
} from "./helpers/webhooks.ts";

/**
 * Issue 19, B3: Stripe sends a connected account's events to the Connect endpoint of the mode,
 * signed with that endpoint's own secret (STRIPE_CONNECT_WEBHOOK_SECRET_TEST / _LIVE), and the
 * platform's own events to the account endpoint (STRIPE_WEBHOOK_SECRET_TEST / _LIVE).
 */

const ACCOUNT = "acct_connectB3";
const INVALID_SIGNATURE = { success: false, message: null, data: null, error: "Invalid signature" };

/** An open checkout of a new app, on the connected account when `account` is given. */
async function openCheckout(options: { livemode?: boolean; account?: string } = {}) {
  const live = options.livemode === true;
  const { headers } = await givenWriter({
    liveEnabled: live,
    ...(options.account &&
      (live ? { stripeAccountLive: ACCOUNT } : { stripeAccountTest: ACCOUNT })),
  });
  const res = await postJson(
    "/api/v1/checkout-sessions",
    validBody({ state: newState(), ...(live ? { test: false } : {}) }),
    headers,
  );
  expect(res.status).toBe(200);
  return (res.body.data as { checkout: { id: string } }).checkout;
}

function completed(id: string, options: { livemode?: boolean; account?: string } = {}) {
  return sessionEvent("checkout.session.completed", { id, payment_status: "paid" }, options);
}

async function statusOf(sessionId: string) {
  const row = await env.DB.prepare(
    "SELECT status FROM checkout_sessions WHERE stripe_session_id = ?1",
  )
    .bind(sessionId)
    .first<{ status: string }>();
  return row?.status;
}

async function eventRecorded(id: string) {
  return (
    (await env.DB.prepare("SELECT 1 FROM stripe_events WHERE id = ?1").bind(id).first()) !== null
  );
}

/** Posts the event signed with `secret` to a worker whose bindings are changed by `changes`. */
async function deliverWithEnv(changes: Partial<Bindings>, event: unknown, secret: string) {
  const payload = JSON.stringify(event);
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  });
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request("https://pay.example.test/api/v1/webhooks/stripe", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
      body: payload,
    }) as Request<unknown, IncomingRequestCfProperties>,
    { ...env, ...changes } as Bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

describe("events of connected accounts and the Connect endpoints' secrets", () => {
  it.each([
    ["test", false, WEBHOOK_SECRET_CONNECT_TEST],
    ["live", true, WEBHOOK_SECRET_CONNECT_LIVE],
  ] as const)(
    "takes a %s-mode event of a connected account signed with that mode's Connect secret",
    async (_mode, livemode, secret) => {
      const checkout = await openCheckout({ livemode, account: ACCOUNT });
      const event = completed(checkout.id, { livemode, account: ACCOUNT });
      const res = await deliver(event, { secret });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ data: { outcome: "applied" } });
      expect(await statusOf(checkout.id)).toBe("complete");
      expect(await eventRecorded(event.id)).toBe(true);
    },
  );

  it.each([
    [
      "a connected account's test event signed with the test account secret",
      false,
      ACCOUNT,
      WEBHOOK_SECRET_TEST,
    ],
    [
      "a connected account's live event signed with the live account secret",
      true,
      ACCOUNT,
      WEBHOOK_SECRET_LIVE,
    ],
    [
      "a test event without `account` signed with the test Connect secret",
      false,
      undefined,
      WEBHOOK_SECRET_CONNECT_TEST,
    ],
    [
      "a live event without `account` signed with the live Connect secret",
      true,
      undefined,
      WEBHOOK_SECRET_CONNECT_LIVE,
    ],
    [
      "a connected account's live event signed with the test Connect secret",
      true,
      ACCOUNT,
      WEBHOOK_SECRET_CONNECT_TEST,
    ],
  ] as const)(
    "refuses %s with 400 'Invalid signature' and changes nothing",
    async (_what, livemode, account, secret) => {
      const checkout = await openCheckout({ livemode, ...(account ? { account } : {}) });
      const event = completed(checkout.id, { livemode, ...(account ? { account } : {}) });
      const res = await deliver(event, { secret });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(INVALID_SIGNATURE);
      expect(await statusOf(checkout.id)).toBe("open");
      expect(await eventRecorded(event.id)).toBe(false);
    },
  );

  it("takes a connected account's test event signed with the live Connect secret, once", async () => {
    // Stripe sends the test events of an account connected in live mode to the live Connect
    // endpoint too (to both, if it is connected in both modes): the event's livemode says which.
    const checkout = await openCheckout({ account: ACCOUNT });
    const event = completed(checkout.id, { account: ACCOUNT });
    const viaLive = await deliver(event, { secret: WEBHOOK_SECRET_CONNECT_LIVE });
    expect(viaLive.status).toBe(200);
    expect(viaLive.body).toMatchObject({ data: { outcome: "applied" } });
    const viaTest = await deliver(event, { secret: WEBHOOK_SECRET_CONNECT_TEST });
    expect(viaTest.body).toMatchObject({ data: { outcome: "duplicate" } });
    expect(await statusOf(checkout.id)).toBe("complete");
  });

  it.each([
    ["STRIPE_CONNECT_WEBHOOK_SECRET_TEST", "unset", "test", false, undefined],
    ["STRIPE_CONNECT_WEBHOOK_SECRET_TEST", "blank", "test", false, ""],
    ["STRIPE_CONNECT_WEBHOOK_SECRET_LIVE", "unset", "live", true, undefined],
  ] as const)(
    "answers 500 naming %s (%s) to a %s-mode event that claims an account, whatever signed it, and changes nothing",
    async (name, _how, mode, livemode, value) => {
      const checkout = await openCheckout({ livemode, account: ACCOUNT });
      const event = completed(checkout.id, { livemode, account: ACCOUNT });
      const accountSecret = livemode ? WEBHOOK_SECRET_LIVE : WEBHOOK_SECRET_TEST;
      const connectSecret = livemode ? WEBHOOK_SECRET_CONNECT_LIVE : WEBHOOK_SECRET_CONNECT_TEST;
      for (const secret of [connectSecret, accountSecret, "whsec_someone_else"]) {
        const res = await deliverWithEnv({ [name]: value }, event, secret);
        expect(res.status).toBe(500);
        expect(res.body).toEqual({
          success: false,
          message: null,
          data: null,
          error: `Service misconfigured: the secret ${name} is missing, so ${mode}-mode events of connected accounts cannot be verified`,
        });
        // It names the secret; no secret's value is in the answer.
        expect(findLeaks("answer", res.text)).toEqual([]);
      }
      expect(await statusOf(checkout.id)).toBe("open");
      expect(await eventRecorded(event.id)).toBe(false);
    },
  );

  it("verifies an event without `account` with the account secret alone when no Connect secret is set", async () => {
    const checkout = await openCheckout();
    const event = completed(checkout.id);
    const res = await deliverWithEnv(
      {
        STRIPE_CONNECT_WEBHOOK_SECRET_TEST: undefined,
        STRIPE_CONNECT_WEBHOOK_SECRET_LIVE: undefined,
      },
      event,
      WEBHOOK_SECRET_TEST,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: { outcome: "applied" } });
    expect(await statusOf(checkout.id)).toBe("complete");
  });
});
