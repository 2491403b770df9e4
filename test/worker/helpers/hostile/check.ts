import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { stripe } from "../stripe.ts";
import { expectEnvelope, printable } from "./envelope.ts";
import { type Fixture, KNOWN_BROWSER_ORIGIN } from "./fixture.ts";
import { buildRequest, describeRequest, type RequestSpec } from "./request.ts";

/**
 * The invariants every answer of the worker must keep, checked for each request the
 * property-based tests (test/worker/hostile-input.test.ts) generate.
 */

export interface Tally {
  tried: number;
  skipped: number;
  statuses: Record<number, number>;
  /** How often each error (its first words) was answered: shows which paths were reached. */
  errors: Record<string, number>;
}

export function newTally(): Tally {
  return { tried: 0, skipped: 0, statuses: {}, errors: {} };
}

interface DbCounts {
  rows: number;
  opened: number;
  updated: number;
}

interface WriteSnapshot extends DbCounts {
  creates: number;
  sessions: number;
}

async function dbCounts(appIds: string[]): Promise<DbCounts> {
  const placeholders = appIds.map((_, i) => `?${i + 1}`).join(", ");
  const row = await env.DB.prepare(
    `SELECT COUNT(*) AS n, COUNT(opened_at) AS opened, TOTAL(updated_at) AS updated
       FROM checkout_sessions WHERE app_id IN (${placeholders})`,
  )
    .bind(...appIds)
    .first<{ n: number; opened: number; updated: number }>();
  return { rows: row?.n ?? 0, opened: row?.opened ?? 0, updated: row?.updated ?? 0 };
}

/**
 * The rows of the fixture's apps and the double's creates and sessions. Nothing but the
 * generated requests writes while a property runs (the worker uses no waitUntil), so the
 * counts after one request are the counts before the next: one D1 query per request.
 */
async function snapshot(checker: Checker, fresh: boolean): Promise<WriteSnapshot> {
  const db = !fresh && checker.lastDb ? checker.lastDb : await dbCounts(checker.fx.appIds);
  checker.lastDb = db;
  return { ...db, creates: stripe.creates().length, sessions: stripe.sessions.size };
}

/** The path as Hono routes it: percent-decoded by decodeURI where that succeeds. */
function routedPath(pathname: string): string {
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
}

/** Everything under /checkout is the payment page's: its link, with a slash, or mangled. */
function isPaymentPagePath(pathname: string): boolean {
  return /^\/checkout(\/|$)/.test(pathname);
}

export interface Checker {
  fx: Fixture;
  tally: Tally;
  /** Stripe session ids of accepted creates seen so far: a repeat is an idempotent replay. */
  acceptedIds: Set<string>;
  /** The worker's log lines (console.info and console.error, captured by the test). */
  logs: string[];
  /** The database counts after the last request (see snapshot). */
  lastDb?: DbCounts;
}

/**
 * Sends one generated request to the real worker and checks: no 5xx; the answer is the JSON
 * envelope (or, on the payment page, an HTML page or a 303 with `Cache-Control: no-store`);
 * `X-Request-Id` is set; nothing is written for a rejected request; an accepted create writes
 * exactly one row and makes at most one Stripe create.
 */
export async function sendAndCheck(checker: Checker, spec: RequestSpec): Promise<void> {
  const request = buildRequest(spec);
  if (!request) {
    checker.tally.skipped++;
    return;
  }
  const requestText = describeRequest(request, spec);
  const before = await snapshot(checker, false);
  const logsBefore = checker.logs.length;
  const response = await exports.default.fetch(request);
  const text = await response.text();
  const after = await snapshot(checker, true);
  const { status } = response;
  const logLines = checker.logs.slice(logsBefore);
  const context = printable(`${requestText}\n\nlog: ${logLines.join("\n")}`);
  checker.tally.tried++;
  checker.tally.statuses[status] = (checker.tally.statuses[status] ?? 0) + 1;

  expect(status, `${context}\n→ ${printable(text.slice(0, 300))}`).toBeLessThan(500);
  expect(status, context).toBeGreaterThanOrEqual(200);

  const sentId = request.headers.get("X-Request-Id");
  const id = response.headers.get("X-Request-Id");
  expect(id, context).toMatch(/^[\w\-=]{1,128}$/);
  if (sentId !== null && sentId.length <= 128 && /^[\w\-=]+$/.test(sentId)) {
    expect(id, context).toBe(sentId);
  }

  // Exactly one log line, for this request.
  expect(logLines, context).toHaveLength(1);
  const line = JSON.parse(logLines[0] ?? "null") as Record<string, unknown>;
  expect(line.requestId, context).toBe(id);
  expect(line.status, context).toBe(status);

  const url = new URL(request.url);
  const pagePath = isPaymentPagePath(url.pathname);
  const contentType = response.headers.get("Content-Type") ?? "";
  let envelope: Record<string, unknown> | null = null;

  if (pagePath) {
    // The payment page: every answer (405 included) is uncacheable.
    expect([303, 403, 404, 410, 405], `${context}\n→ ${printable(text.slice(0, 200))}`).toContain(
      status,
    );
    expect(response.headers.get("Cache-Control"), context).toBe("no-store");
    expect(response.headers.get("Set-Cookie"), context).toBeNull();
  }

  if (status === 303) {
    expect(pagePath && (request.method === "GET" || request.method === "HEAD"), context).toBe(true);
    const checkout = checker.fx.checkouts.find(
      (c) => url.pathname === `/checkout/${c.hash}` || url.pathname === `/checkout/${c.hash}/`,
    );
    expect(checkout, `303 for a hash that is not a real checkout\n${context}`).toBeDefined();
    expect(url.searchParams.get("state"), `303 without the right state\n${context}`).toBe(
      checkout?.state,
    );
    expect(response.headers.get("Location"), context).toMatch(
      /^https:\/\/checkout\.stripe\.test\//,
    );
  } else if (
    status === 200 &&
    (request.method === "GET" || request.method === "HEAD") &&
    ["/docs", "/openapi.json"].includes(routedPath(url.pathname))
  ) {
    // The API's documentation: the OpenAPI document (JSON, not an envelope) and its page.
    if (routedPath(url.pathname) === "/docs") expect(contentType, context).toMatch(/^text\/html/);
    else {
      expect(contentType, context).toMatch(/^application\/json/);
      if (request.method === "GET") expect(JSON.parse(text).openapi, context).toMatch(/^3\.1\./);
    }
  } else if (contentType.startsWith("text/html")) {
    expect(pagePath && (request.method === "GET" || request.method === "HEAD"), context).toBe(true);
    expect([403, 404, 410], context).toContain(status);
  } else if (
    status === 204 &&
    request.method === "OPTIONS" &&
    /^\/api\/v1(\/|$)/.test(url.pathname) &&
    request.headers.get("Origin") === KNOWN_BROWSER_ORIGIN
  ) {
    // A CORS preflight from a known browser origin: no body, by definition.
    expect(text, context).toBe("");
    expect(response.headers.get("Access-Control-Allow-Origin"), context).toBe(KNOWN_BROWSER_ORIGIN);
  } else {
    expect(contentType, `${context}\n→ ${printable(text.slice(0, 200))}`).toMatch(
      /^application\/json/,
    );
    if (request.method === "HEAD") expect(text, context).toBe("");
    else envelope = expectEnvelope(text, status, context);
  }

  if (typeof envelope?.error === "string") {
    const key = `${status} ${Array.from(envelope.error.replace(/[:(].*$/, ""))
      .slice(0, 50)
      .join("")}`;
    checker.tally.errors[key] = (checker.tally.errors[key] ?? 0) + 1;
  }

  const created =
    status === 200 && request.method === "POST" && envelope?.message === "Checkout session created";
  if (created) {
    const checkout = (envelope?.data as { checkout?: { id?: unknown } } | null)?.checkout;
    const sessionId = String(checkout?.id);
    const replay = checker.acceptedIds.has(sessionId);
    checker.acceptedIds.add(sessionId);
    expect(after.rows - before.rows, `accepted create: new rows\n${context}`).toBe(replay ? 0 : 1);
    expect(
      after.creates - before.creates,
      `accepted create: Stripe creates\n${context}`,
    ).toBeLessThanOrEqual(replay ? 0 : 1);
    expect(after.sessions - before.sessions, context).toBe(replay ? 0 : 1);
    return;
  }

  // Anything else wrote nothing: no row, no changed row, no Stripe session. Only Stripe's own
  // refusal may have reached Stripe (one create call that created nothing).
  expect(after.rows, `rows written by a ${status}\n${context}`).toBe(before.rows);
  if (status === 303) {
    // Opening the page records when it was first opened, and nothing else.
    expect(after.opened - before.opened, context).toBeLessThanOrEqual(1);
  } else {
    expect(after.updated, `rows changed by a ${status}\n${context}`).toBe(before.updated);
    expect(after.opened, `opened_at set by a ${status}\n${context}`).toBe(before.opened);
  }
  expect(after.sessions, `Stripe sessions created by a ${status}\n${context}`).toBe(
    before.sessions,
  );
  const stripeRefused =
    status === 400 &&
    typeof envelope?.error === "string" &&
    envelope.error.startsWith("Stripe refused");
  expect(after.creates - before.creates, `Stripe creates by a ${status}\n${context}`).toBe(
    stripeRefused ? 1 : 0,
  );
}
