/**
 * /docs in a real browser: Scalar's API reference drawn with nothing but the worker's own
 * origin (no network beyond loopback here, so a CDN or font would fail), its search, and its
 * "Test Request" client sending creates that the worker answers: an API key refused with 403,
 * as from any browser, then an access token that creates the checkout. The last state is saved
 * to test-results/docs-scalar.png (README: CI artifacts). Skipped without Chromium.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Locator, Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCALAR_BUNDLE_SOURCE } from "../../scripts/docs-assets.ts";
import { type LocalStack, repoRoot, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { SCALAR_BUNDLE_PATH } from "../../src/openapi/docs-page.ts";
import { exampleCreateBody } from "../../src/schemas/example-body.ts";
import { haveBrowser, launchBrowser } from "./browser.ts";

const SCREENSHOT = path.join(repoRoot, "test-results", "docs-scalar.png");
const CREATE = "/api/v1/checkout-sessions";

let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  if (!haveBrowser) return;
  stack = await startLocalStack({ accessTokens: true });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

/** Presses the client's Send and returns the worker's answer to that request. */
async function send(page: Page, dialog: Locator): Promise<Response> {
  const answered = page.waitForResponse(
    (r) => r.url() === `${stack.workerOrigin}${CREATE}` && r.request().method() === "POST",
  );
  await dialog.getByRole("button", { name: /^Send post request/ }).click();
  return answered;
}

describe.skipIf(!haveBrowser)("the /docs API reference in Chromium", () => {
  it("serves the installed bundle from the worker's origin", async () => {
    const response = await fetch(`${stack.workerOrigin}${SCALAR_BUNDLE_PATH}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(
      Buffer.from(await response.arrayBuffer()).equals(readFileSync(SCALAR_BUNDLE_SOURCE)),
    ).toBe(true);
  });

  it("renders offline, searches, and sends the create from its client", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    const violations: string[] = [];
    await page.exposeFunction("reportViolation", (violation: string) => violations.push(violation));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        const report = (window as unknown as { reportViolation: (v: string) => void })
          .reportViolation;
        report(`${event.effectiveDirective} ${event.blockedURI}`);
      });
    });

    const loaded = await page.goto(`${stack.workerOrigin}/docs`);
    expect(loaded?.status()).toBe(200);
    const heading = page.getByRole("heading", { name: "Create a checkout session", exact: true });
    await heading.waitFor();
    // Its link to Scalar's hosted client (with this document's URL) is hidden.
    expect(await page.getByText("Open API Client").count()).toBe(0);

    await page.getByRole("button", { name: /^Open Search/ }).click();
    await page.getByRole("combobox").fill("tenant");
    await page.getByRole("option", { name: /Create a checkout session for a tenant/ }).waitFor();
    await page.keyboard.press("Escape");

    const section = page.locator("section", { has: heading }).first();
    await section.getByRole("button", { name: /^Test Request/ }).click();
    const dialog = page.getByRole("dialog");
    const state = randomBytes(32).toString("hex");
    const body = exampleCreateBody(state);
    await dialog.locator('.cm-content[data-language="json"]').fill(JSON.stringify(body, null, 2));

    // The API key scheme comes first: X-API-KEY, X-API-KEY-TYPE, X-CLIENT-ID. From a browser
    // (the request carries Origin) the worker refuses it before looking at the key.
    const values = dialog.getByRole("textbox", { name: "Value", exact: true });
    await values.nth(0).fill(stack.writeKey);
    await values.nth(1).fill("write");
    await values.nth(2).fill(stack.appId);
    const refused = await send(page, dialog);
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toEqual({
      success: false,
      message: null,
      error:
        "API keys must never be used from a browser (this request carries an Origin header); call this API from your server",
      data: null,
    });
    await dialog.getByText("403 Forbidden").waitFor();

    // An access token of the app, whose listed origin is the worker's own: the checkout is made.
    await dialog.getByRole("button", { name: /Auth Type/ }).click();
    await page.getByRole("option", { name: /^accessToken/ }).click();
    await page.getByRole("option", { name: /^apiKey & apiKeyType & clientId/ }).click();
    await dialog.getByRole("button", { name: /Auth Type/ }).click();
    const tenantId = crypto.randomUUID();
    await dialog
      .getByRole("textbox", { name: "Bearer Token" })
      .fill(await stack.signAccessToken(tenantId));
    const created = await send(page, dialog);
    expect(created.request().headers()).not.toHaveProperty("x-api-key");
    expect(created.status()).toBe(200);
    expect(await created.json()).toMatchObject({
      success: true,
      data: {
        checkout: {
          status: "open",
          mode: "payment",
          livemode: false,
          tenantId,
          nextAction: { url: expect.stringMatching(`^${stack.workerOrigin}/checkout/`) },
        },
      },
    });
    await dialog.getByText("200 OK").waitFor();
    await dialog.getByText('"Checkout session created"').waitFor();
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // Every request of the page went to the worker: the page, the bundle, the document, the
    // two creates. Nothing from a CDN, a font host, a proxy or telemetry.
    const origins = new Set(requests.map((url) => new URL(url).origin));
    expect([...origins]).toEqual([stack.workerOrigin]);
    expect(requests).toEqual(
      expect.arrayContaining([
        `${stack.workerOrigin}/docs`,
        `${stack.workerOrigin}${SCALAR_BUNDLE_PATH}`,
        `${stack.workerOrigin}/openapi.json`,
        `${stack.workerOrigin}${CREATE}`,
      ]),
    );
    // The CSP blocked nothing the page needs. What it reports is the zod inside the bundle
    // probing whether eval works (it then validates without).
    expect(violations.filter((violation) => violation !== "script-src eval")).toEqual([]);
    await page.close();
  }, 90_000);
});
