/**
 * The whole local flow in a real browser (Debian's Chromium, driven by playwright-core):
 * create a checkout over HTTP, open nextAction.url?state=…, land on the Stripe double's hosted
 * page, press Pay, land on the success URL, and read the completed record back.
 * Skipped, saying so, where /usr/bin/chromium is not installed (.ci/run installs it).
 */
import { randomBytes } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { exampleCreateBody } from "../../src/schemas/example-body.ts";
import { haveBrowser, launchBrowser } from "./browser.ts";

let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  if (!haveBrowser) return;
  stack = await startLocalStack();
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

const newState = () => randomBytes(32).toString("hex");

function postCreate(
  state: string,
  body: Record<string, unknown> = {},
  tenantId: string = crypto.randomUUID(),
) {
  return fetch(`${stack.workerOrigin}/api/v1/tenants/${tenantId}/checkout-sessions`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-API-KEY": stack.writeKey,
      "X-API-KEY-TYPE": "write",
      "X-CLIENT-ID": stack.appId,
    },
    body: JSON.stringify({ ...exampleCreateBody(state, { quantity: 2 }), ...body }),
  });
}

async function createCheckout(state: string, body: Record<string, unknown> = {}) {
  const response = await postCreate(state, body);
  expect(response.status).toBe(200);
  const { data } = (await response.json()) as {
    data: { checkout: { id: string; nextAction: { url: string } } };
  };
  return data.checkout;
}

async function readCheckout(id: string) {
  const response = await fetch(`${stack.workerOrigin}/api/v1/checkout-sessions/${id}`, {
    headers: { "X-API-KEY": stack.readKey, "X-API-KEY-TYPE": "read", "X-CLIENT-ID": stack.appId },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { checkout: Record<string, unknown> } }).data.checkout;
}

describe.skipIf(!haveBrowser)("the local flow in Chromium", () => {
  it("pays: payment page → Stripe double → Pay → success URL → record completed", async () => {
    const state = newState();
    const checkout = await createCheckout(state);
    const page = await browser.newPage();

    await page.goto(`${checkout.nextAction.url}?state=${state}`);
    expect(page.url()).toBe(`${stack.stripeOrigin}/c/pay/${checkout.id}`);
    await expect(page.locator("h1").textContent()).resolves.toBe("Stripe double: checkout");

    await page.click("#pay");
    await page.waitForURL(/\/demo\/success/);
    expect(page.url()).toBe(`${stack.stripeOrigin}/demo/success?session_id=${checkout.id}`);

    const record = await readCheckout(checkout.id);
    expect(record).toMatchObject({ status: "complete", paymentStatus: "paid", nextAction: null });
    expect(record.openedAt).not.toBeNull();
    expect(record.completedAt).not.toBeNull();

    // The same link now says the payment is done, with 410.
    const again = await page.goto(`${checkout.nextAction.url}?state=${state}`);
    expect(again?.status()).toBe(410);
    await expect(page.locator("h1").textContent()).resolves.toMatch(/paid|completed/i);
    await page.close();
  });

  it("pays by SEPA Debit: the delayed payment ends paid", async () => {
    const state = newState();
    const checkout = await createCheckout(state, { paymentMethodType: "sepa" });
    const page = await browser.newPage();
    await page.goto(`${checkout.nextAction.url}?state=${state}`);
    await page.click("#pay");
    await page.waitForURL(/\/demo\/success/);
    expect(await readCheckout(checkout.id)).toMatchObject({
      status: "complete",
      paymentStatus: "paid",
    });
    await page.close();
  });

  it("cancels: back to the cancel URL, the checkout still open", async () => {
    const state = newState();
    const checkout = await createCheckout(state);
    const page = await browser.newPage();
    await page.goto(`${checkout.nextAction.url}?state=${state}`);
    await page.click("#cancel");
    await page.waitForURL(/\/demo\/cancel/);
    expect(await readCheckout(checkout.id)).toMatchObject({ status: "open" });
    await page.close();
  });

  it("pays a subscription, fails its renewal, reads paymentFailed, and pays it from the portal", async () => {
    const state = newState();
    const tenantId = crypto.randomUUID();
    const created = await postCreate(
      state,
      { mode: "subscription", price: "price_eur_monthly", quantity: 1 },
      tenantId,
    );
    expect(created.status).toBe(200);
    const checkout = (
      (await created.json()) as { data: { checkout: { nextAction: { url: string } } } }
    ).data.checkout;
    const page = await browser.newPage();
    await page.goto(`${checkout.nextAction.url}?state=${state}`);
    await page.click("#pay");
    await page.waitForURL(/\/demo\/success/);

    const keyHeaders = {
      "X-API-KEY": stack.writeKey,
      "X-API-KEY-TYPE": "write",
      "X-CLIENT-ID": stack.appId,
    };
    const billing = async () => {
      const res = await fetch(
        `${stack.workerOrigin}/api/v1/tenants/${tenantId}/billing?test=true`,
        {
          headers: keyHeaders,
        },
      );
      expect(res.status).toBe(200);
      return (
        (await res.json()) as {
          data: {
            billing: {
              paidUntil: string | null;
              paymentFailed: boolean;
              subscriptions: { id: string; status: string }[];
            };
          };
        }
      ).data.billing;
    };
    const paid = await billing();
    expect(paid).toMatchObject({ paymentFailed: false, subscriptions: [{ status: "active" }] });
    expect(paid.paidUntil).not.toBeNull();
    const subscriptionId = paid.subscriptions[0]?.id;

    // The renewal fails at the double, which sends Stripe's events to the worker.
    const renewed = await fetch(
      `${stack.stripeOrigin}/__double/subscriptions/${subscriptionId}/renew?outcome=failed`,
      { method: "POST" },
    );
    const { events } = (await renewed.json()) as { events: { type: string; status: number }[] };
    expect(events.every((e) => e.status === 200)).toBe(true);
    expect(await billing()).toMatchObject({
      paidUntil: null,
      paymentFailed: true,
      subscriptions: [{ status: "past_due" }],
    });

    // The tenant fixes it in the customer portal: a new card pays the open invoice.
    const portal = await fetch(`${stack.workerOrigin}/api/v1/tenants/${tenantId}/portal-sessions`, {
      method: "POST",
      headers: { ...keyHeaders, "Content-Type": "application/json" },
      body: JSON.stringify({ test: true, flow: "payment_method_update" }),
    });
    expect(portal.status).toBe(200);
    const { url } = ((await portal.json()) as { data: { portal: { url: string } } }).data.portal;
    await page.goto(url);
    await expect(page.locator("h1").textContent()).resolves.toBe("Stripe double: customer portal");
    await page.click("button.card");
    await page.waitForLoadState();
    expect(await billing()).toMatchObject({
      paymentFailed: false,
      subscriptions: [{ status: "active" }],
    });
    await page.click("#return");
    await page.waitForURL(/\/demo\/account/);
    await page.close();
  });

  it("rehearses a Stripe outage through the double's control route: 503, then the retry is served", async () => {
    const queued = await fetch(`${stack.stripeOrigin}/__double/faults`, {
      method: "POST",
      body: JSON.stringify({
        faults: [
          { kind: "status", status: 503 },
          { kind: "status", status: 503 },
        ],
      }),
    });
    expect(queued.status).toBe(200);
    const state = newState();
    const tenantId = crypto.randomUUID();
    const failed = await postCreate(state, {}, tenantId);
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: string }).error).toBe(
      "Stripe is unavailable; retry the same request (same state) later",
    );
    const retried = await postCreate(state, {}, tenantId);
    expect(retried.status, await retried.clone().text()).toBe(200);
  });

  it("shows the not-valid page for a wrong state, in German when the browser asks for it", async () => {
    const checkout = await createCheckout(newState());
    const context = await browser.newContext({
      locale: "de-DE",
      extraHTTPHeaders: { "Accept-Language": "de-DE,de;q=0.9" },
    });
    const page = await context.newPage();
    const wrong = newState();
    const response = await page.goto(`${checkout.nextAction.url}?state=${wrong}`);
    expect(response?.status()).toBe(404);
    expect(page.url()).toBe(`${checkout.nextAction.url}?state=${wrong}`);
    await expect(page.locator("html").getAttribute("lang")).resolves.toBe("de");
    await page.screenshot({ path: "/tmp/checkout-edge-wrong-state.png" });
    await context.close();
  });
});
