import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { givenWriter, newState } from "./helpers/apps.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { stripe } from "./helpers/stripe.ts";

const ORIGIN = "https://pay.example.test";
const CREATE = "/api/v1/checkout-sessions";

interface PageResult {
  response: Response;
  status: number;
  text: string;
}

/** Opens the payment page as a browser would, without following the redirect. */
async function open(path: string, init: RequestInit = {}): Promise<PageResult> {
  const response = await exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { redirect: "manual", ...init }),
  );
  return { response, status: response.status, text: await response.text() };
}

function openCheckout(
  hash: string,
  state: string | null,
  headers: Record<string, string> = {},
): Promise<PageResult> {
  const query = state === null ? "" : `?state=${encodeURIComponent(state)}`;
  return open(`/checkout/${hash}${query}`, { headers });
}

interface GivenCheckout {
  appId: string;
  id: string;
  hash: string;
  state: string;
}

/** A real open checkout, created through the API against the Stripe double. */
async function givenCheckout(): Promise<GivenCheckout> {
  const { app, headers } = await givenWriter();
  const state = newState();
  const res = await postJson(CREATE, validBody({ state }), headers);
  expect(res.status).toBe(200);
  const { id, hash } = (res.body.data as { checkout: { id: string; hash: string } }).checkout;
  return { appId: app.id, id, hash, state };
}

/** A real pending checkout: Stripe never answered, so the reserved row stays pending. */
async function givenPendingCheckout(): Promise<GivenCheckout> {
  const { app, headers } = await givenWriter();
  const state = newState();
  stripe.fail({ kind: "network" }, { kind: "network" });
  const res = await postJson(CREATE, validBody({ state }), headers);
  expect(res.status).toBe(502);
  const [row] = await rowsOfApp(app.id);
  expect(row?.status).toBe("pending");
  return { appId: app.id, id: row?.id ?? "", hash: row?.hash ?? "", state };
}

async function setRow(
  hash: string,
  fields: { status?: string; payment_status?: string | null; expires_at?: number },
) {
  const entries = Object.entries(fields);
  const assignments = entries.map(([column], i) => `${column} = ?${i + 2}`).join(", ");
  await env.DB.prepare(`UPDATE checkout_sessions SET ${assignments} WHERE hash = ?1`)
    .bind(hash, ...entries.map(([, value]) => value))
    .run();
}

async function openedAt(hash: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT opened_at FROM checkout_sessions WHERE hash = ?1")
    .bind(hash)
    .first<{ opened_at: number | null }>();
  return row?.opened_at ?? null;
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** The headers every answer of the page carries, redirect and 405 included. */
function expectSecurityHeaders(response: Response) {
  const csp = response.headers.get("Content-Security-Policy") ?? "";
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).toContain("form-action 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain("unsafe-inline");
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
  expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(response.headers.get("Set-Cookie")).toBeNull();
  expect(response.headers.getSetCookie()).toEqual([]);
}

function expectHtmlPage(page: PageResult, language: "de" | "en", title: string) {
  expect(page.response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
  expect(page.text).toMatch(/^<!doctype html>/);
  expect(page.text).toContain(`<html lang="${language}">`);
  expect(page.text).toContain(
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
  );
  expect(page.text).toContain(`<h1>${title}</h1>`);
  expect(page.response.headers.get("Location")).toBeNull();
  expectSecurityHeaders(page.response);
}

function expectNoSecrets(page: PageResult, checkout: GivenCheckout) {
  expect(page.text).not.toContain(checkout.hash);
  expect(page.text).not.toContain(checkout.state);
  for (const [, value] of page.response.headers) {
    expect(value).not.toContain(checkout.state);
    expect(value).not.toContain(checkout.hash);
  }
}

/** Headers apart from the request id, which differs for every request by design. */
function comparableHeaders(response: Response): [string, string][] {
  return [...response.headers].filter(([name]) => name !== "x-request-id");
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("GET /checkout/:hash with the right state", () => {
  it("answers 303 to exactly the recorded Stripe URL and records the first opening only", async () => {
    const checkout = await givenCheckout();
    const stripeUrl = stripe.sessions.get(checkout.id)?.url;
    expect(stripeUrl).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    expect(await openedAt(checkout.hash)).toBeNull();
    const before = Math.floor(Date.now() / 1000);

    const first = await openCheckout(checkout.hash, checkout.state);

    expect(first.status).toBe(303);
    expect(first.response.headers.get("Location")).toBe(stripeUrl);
    expect(first.text).toBe("");
    expectSecurityHeaders(first.response);
    const firstOpened = await openedAt(checkout.hash);
    expect(firstOpened).toBeGreaterThanOrEqual(before);
    expect(firstOpened).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));

    // A minute later the link still works, and the first opening is kept.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 60_000);
    const second = await openCheckout(checkout.hash, checkout.state);
    expect(second.status).toBe(303);
    expect(second.response.headers.get("Location")).toBe(stripeUrl);
    expect(await openedAt(checkout.hash)).toBe(firstOpened);
  });

  it("never takes the redirect target from the request", async () => {
    const checkout = await givenCheckout();
    const stripeUrl = stripe.sessions.get(checkout.id)?.url;
    const page = await open(
      `/checkout/${checkout.hash}?state=${checkout.state}&url=https://evil.example&next=https://evil.example&redirect=https://evil.example`,
      { headers: { Referer: "https://evil.example/", Host: "evil.example" } },
    );
    expect(page.status).toBe(303);
    expect(page.response.headers.get("Location")).toBe(stripeUrl);
  });

  it("answers HEAD like GET, without a body", async () => {
    const checkout = await givenCheckout();
    const page = await open(`/checkout/${checkout.hash}?state=${checkout.state}`, {
      method: "HEAD",
    });
    expect(page.status).toBe(303);
    expect(page.response.headers.get("Location")).toBe(stripe.sessions.get(checkout.id)?.url);
    expectSecurityHeaders(page.response);
    // A link previewer's HEAD is not a person opening the page.
    expect(await openedAt(checkout.hash)).toBeNull();
    await openCheckout(checkout.hash, checkout.state);
    expect(await openedAt(checkout.hash)).not.toBeNull();
  });

  it("answers a completed checkout with 410 'already completed'", async () => {
    const checkout = await givenCheckout();
    await setRow(checkout.hash, { status: "complete", payment_status: "paid" });
    const page = await openCheckout(checkout.hash, checkout.state);
    expect(page.status).toBe(410);
    expectHtmlPage(page, "en", "Already completed");
    expect(page.text).toContain("This payment has already been completed.");
    expectNoSecrets(page, checkout);
    expect(await openedAt(checkout.hash)).toBeNull();
  });

  it("answers a completed checkout whose payment failed with 410 and asks for a new link", async () => {
    const checkout = await givenCheckout();
    await setRow(checkout.hash, { status: "complete", payment_status: "failed" });
    const page = await openCheckout(checkout.hash, checkout.state);
    expect(page.status).toBe(410);
    expectHtmlPage(page, "en", "The payment failed");
    expect(page.text).toContain("ask for a new payment link");

    const german = await openCheckout(checkout.hash, checkout.state, { "Accept-Language": "de" });
    expect(german.status).toBe(410);
    expectHtmlPage(german, "de", "Die Zahlung ist fehlgeschlagen");
    expect(german.text).toContain("neuen Zahlungslink");
  });

  it("answers an expired checkout with 410 'expired'", async () => {
    const checkout = await givenCheckout();
    await setRow(checkout.hash, { status: "expired" });
    const page = await openCheckout(checkout.hash, checkout.state);
    expect(page.status).toBe(410);
    expectHtmlPage(page, "en", "This link has expired");
    expect(page.text).toContain("Go back to the app to start again.");
    expectNoSecrets(page, checkout);
    expect(await openedAt(checkout.hash)).toBeNull();
  });

  it("answers an open checkout past its expiry with 410 'expired' (also at the very second)", async () => {
    const checkout = await givenCheckout();
    await setRow(checkout.hash, { expires_at: Math.floor(Date.now() / 1000) - 1 });
    const past = await openCheckout(checkout.hash, checkout.state);
    expect(past.status).toBe(410);
    expectHtmlPage(past, "en", "This link has expired");

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000 + 500);
    await setRow(checkout.hash, { expires_at: Math.floor(Date.now() / 1000) });
    const atExpiry = await openCheckout(checkout.hash, checkout.state);
    expect(atExpiry.status).toBe(410);
    expect(await openedAt(checkout.hash)).toBeNull();
  });

  it("answers a pending checkout (Stripe never confirmed) with 404 'not ready'", async () => {
    const checkout = await givenPendingCheckout();
    const page = await openCheckout(checkout.hash, checkout.state);
    expect(page.status).toBe(404);
    expectHtmlPage(page, "en", "This payment is not ready");
    expect(page.text).toContain("Go back to the app and try again.");
    expectNoSecrets(page, checkout);
    expect(await openedAt(checkout.hash)).toBeNull();
  });

  it("answers a recorded Stripe URL that is not http(s) with a 500 page, never a redirect", async () => {
    const checkout = await givenCheckout();
    await env.DB.prepare("UPDATE checkout_sessions SET stripe_url = ?2 WHERE hash = ?1")
      .bind(checkout.hash, "javascript:alert(1)")
      .run();
    const page = await openCheckout(checkout.hash, checkout.state);
    expect(page.status).toBe(500);
    expectHtmlPage(page, "en", "Something went wrong");
    expectNoSecrets(page, checkout);
    expect(page.text).not.toContain("javascript");
    expect(await openedAt(checkout.hash)).toBeNull();
  });
});

describe("GET /checkout/:hash without the right state", () => {
  it("answers a missing state with 403 'incomplete', before looking anything up", async () => {
    const checkout = await givenCheckout();
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
    for (const path of [
      `/checkout/${checkout.hash}`,
      `/checkout/${checkout.hash}?state=`,
      `/checkout/${checkout.hash}?State=${checkout.state}`,
    ]) {
      const page = await open(path);
      expect(page.status, path).toBe(403);
      expectHtmlPage(page, "en", "This link is incomplete");
      expectNoSecrets(page, checkout);
    }
    expect(compare).not.toHaveBeenCalled();
    expect(await openedAt(checkout.hash)).toBeNull();
  });

  it("answers a malformed state with 403, whether or not the hash exists", async () => {
    const checkout = await givenCheckout();
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");
    const malformed = [
      checkout.state.slice(1), // 63
      `${checkout.state}a`, // 65
      `${checkout.state.slice(1)}+`,
      `${checkout.state.slice(1)}/`,
      `${checkout.state.slice(1)}=`,
      `${checkout.state.slice(1)} `,
      `${checkout.state.slice(1)}ä`,
    ];
    for (const state of malformed) {
      for (const hash of [checkout.hash, "A".repeat(32), "nope"]) {
        const page = await openCheckout(hash, state);
        expect(page.status, `${hash} ${state}`).toBe(403);
        expectHtmlPage(page, "en", "This link is incomplete");
        expect(page.text).not.toContain(state);
      }
    }
    expect(compare).not.toHaveBeenCalled();
  });

  it("answers a wrong state and an unknown hash with byte-identical 404 pages", async () => {
    const checkout = await givenCheckout();
    const compare = vi.spyOn(crypto.subtle, "timingSafeEqual");

    const wrongState = await openCheckout(checkout.hash, newState());
    expect(compare).toHaveBeenCalledTimes(1);
    const unknownHash = await openCheckout("B".repeat(32), checkout.state);
    expect(compare).toHaveBeenCalledTimes(2);
    const malformedHash = await openCheckout("not-a-hash", checkout.state);
    expect(compare).toHaveBeenCalledTimes(3);
    // Both paths compared two digests of the same length.
    for (const [a, b] of compare.mock.calls) {
      expect((a as Uint8Array).byteLength).toBe(64);
      expect((b as Uint8Array).byteLength).toBe(64);
    }

    expect(wrongState.status).toBe(404);
    expectHtmlPage(wrongState, "en", "This payment link is not valid");
    for (const other of [unknownHash, malformedHash]) {
      expect(other.status).toBe(wrongState.status);
      expect(other.text).toBe(wrongState.text);
      expect(comparableHeaders(other.response)).toEqual(comparableHeaders(wrongState.response));
    }
    expectNoSecrets(wrongState, checkout);
    expectNoSecrets(unknownHash, checkout);
    expect(await openedAt(checkout.hash)).toBeNull();
  });

  it("answers another checkout's state with 404 as well", async () => {
    const one = await givenCheckout();
    const other = await givenCheckout();
    const page = await openCheckout(one.hash, other.state);
    expect(page.status).toBe(404);
    expectHtmlPage(page, "en", "This payment link is not valid");
  });

  it("answers a wrong state on a completed, expired or pending checkout with the same 404", async () => {
    const unknown = await openCheckout("C".repeat(32), newState());
    const complete = await givenCheckout();
    await setRow(complete.hash, { status: "complete" });
    const expired = await givenCheckout();
    await setRow(expired.hash, { status: "expired" });
    const pending = await givenPendingCheckout();
    for (const checkout of [complete, expired, pending]) {
      const page = await openCheckout(checkout.hash, newState());
      expect(page.status).toBe(404);
      expect(page.text).toBe(unknown.text);
      expect(comparableHeaders(page.response)).toEqual(comparableHeaders(unknown.response));
    }
  });
});

describe("the payment page's language", () => {
  it("speaks German when Accept-Language prefers it, else English", async () => {
    const checkout = await givenCheckout();
    const cases: [string | null, "de" | "en"][] = [
      [null, "en"],
      ["de", "de"],
      ["de-DE", "de"],
      ["de-AT,de;q=0.9", "de"],
      ["en-US,en;q=0.9,de;q=0.8", "en"],
      ["fr-FR,fr;q=0.9,de;q=0.8,en;q=0.7", "de"],
      ["fr", "en"],
    ];
    for (const [acceptLanguage, language] of cases) {
      const headers: Record<string, string> = acceptLanguage
        ? { "Accept-Language": acceptLanguage }
        : {};
      const page = await openCheckout(checkout.hash, newState(), headers);
      expect(page.status, String(acceptLanguage)).toBe(404);
      expectHtmlPage(
        page,
        language,
        language === "de" ? "Dieser Zahlungslink ist ungültig" : "This payment link is not valid",
      );
      expect(page.response.headers.get("Vary")).toContain("Accept-Language");
    }
  });

  it("has every message in German", async () => {
    const checkout = await givenCheckout();
    const de = { "Accept-Language": "de-DE,de;q=0.9,en;q=0.8" };

    const incomplete = await openCheckout(checkout.hash, null, de);
    expectHtmlPage(incomplete, "de", "Dieser Link ist unvollständig");

    await setRow(checkout.hash, { status: "complete", payment_status: "paid" });
    expectHtmlPage(
      await openCheckout(checkout.hash, checkout.state, de),
      "de",
      "Bereits abgeschlossen",
    );

    await setRow(checkout.hash, { status: "expired", payment_status: null });
    expectHtmlPage(
      await openCheckout(checkout.hash, checkout.state, de),
      "de",
      "Dieser Link ist abgelaufen",
    );

    const pending = await givenPendingCheckout();
    expectHtmlPage(
      await openCheckout(pending.hash, pending.state, de),
      "de",
      "Diese Zahlung ist noch nicht bereit",
    );
  });
});

describe("the payment page's headers and markup", () => {
  it("sends the security headers on every kind of answer, and no cookie", async () => {
    const checkout = await givenCheckout();
    const pending = await givenPendingCheckout();
    const answers: PageResult[] = [
      await openCheckout(checkout.hash, checkout.state), // 303
      await openCheckout(checkout.hash, null), // 403
      await openCheckout(checkout.hash, newState()), // 404
      await openCheckout("D".repeat(32), checkout.state), // 404
      await openCheckout(pending.hash, pending.state), // 404 not ready
      await open(`/checkout/${checkout.hash}?state=${checkout.state}`, { method: "POST" }), // 405
    ];
    await setRow(checkout.hash, { status: "complete" });
    answers.push(await openCheckout(checkout.hash, checkout.state)); // 410
    expect(answers.map((a) => a.status)).toEqual([303, 403, 404, 404, 404, 405, 410]);
    for (const answer of answers) expectSecurityHeaders(answer.response);
  });

  it("allows exactly its own inline style by hash", async () => {
    const checkout = await givenCheckout();
    for (const page of [
      await openCheckout(checkout.hash, null),
      await openCheckout(checkout.hash, newState(), { "Accept-Language": "de" }),
    ]) {
      const styles = [...page.text.matchAll(/<style>([\s\S]*?)<\/style>/g)];
      expect(styles).toHaveLength(1);
      const style = styles[0]?.[1] ?? "";
      expect(style).toContain("max-width");
      const csp = page.response.headers.get("Content-Security-Policy");
      expect(csp).toContain(`style-src 'sha256-${await sha256Base64(style)}'`);
      // Nothing else is loaded or run: no scripts, links, images, forms or inline styles.
      expect(page.text).not.toMatch(/<script|<link|<img|<form|<iframe|style="|\son\w+=/i);
    }
  });

  it("keeps pages small", async () => {
    const page = await openCheckout("E".repeat(32), newState());
    expect(new TextEncoder().encode(page.text).byteLength).toBeLessThan(2048);
  });
});

describe("the payment page's log lines", () => {
  it("name the route pattern, never the hash or the state", async () => {
    const checkout = await givenCheckout();
    const log = vi.spyOn(console, "info");
    await openCheckout(checkout.hash, checkout.state);
    await openCheckout(checkout.hash, newState());
    await openCheckout(checkout.hash, null);
    const lines = log.mock.calls.map((args) => args.map(String).join(" "));
    const routes = lines.map((line) => (JSON.parse(line) as { route: string }).route);
    expect(routes).toEqual(["/checkout/:hash", "/checkout/:hash", "/checkout/:hash"]);
    for (const line of lines) {
      expect(line).not.toContain(checkout.hash);
      expect(line).not.toContain(checkout.state);
    }
  });
});

describe("other methods on /checkout/:hash", () => {
  it("answers 405 with Allow: GET", async () => {
    const checkout = await givenCheckout();
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const page = await open(`/checkout/${checkout.hash}?state=${checkout.state}`, { method });
      expect(page.status, method).toBe(405);
      expect(page.response.headers.get("Allow")).toBe("GET");
      expect(JSON.parse(page.text)).toMatchObject({ success: false, data: null });
      expect(page.text).not.toContain(checkout.state);
    }
    expect(await openedAt(checkout.hash)).toBeNull();
  });
});
