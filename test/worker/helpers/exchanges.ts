import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { validBody } from "./http.ts";
import { type Finding, findLeaks, secretState } from "./leaks.ts";

/**
 * What the no-secrets tests (test/worker/no-secrets-*.test.ts) check: the worker never writes a
 * secret to its logs or sends one back (not the API keys, tokens and states callers send, not the
 * Stripe keys and webhook secrets it holds, not the signatures Stripe sends), and every request
 * leaves exactly one JSON log line with its request id. Here: the requests a test sends, what
 * came back, the console lines they produced, and the checks over all of them.
 */

const ORIGIN = "https://pay.example.test";
export const CREATE = "/api/v1/checkout-sessions";

export interface Exchange {
  requestId: string | null;
  method: string;
  path: string;
  status: number;
  text: string;
  headers: [string, string][];
  expectedAppId: string | null | undefined;
  logLines: string[];
}

export const captured: string[] = [];
const exchanges: Exchange[] = [];

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) {
    const cause = value.cause === undefined ? "" : `\ncause: ${asText(value.cause)}`;
    return `${value.name}: ${value.message}\n${value.stack ?? ""}${cause}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * For each test of the file that calls this: captures the console, and starts with no lines and
 * no exchanges, so that the checks see that test's requests only.
 */
export function captureEachTest(): void {
  beforeEach(() => {
    captured.length = 0;
    exchanges.length = 0;
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        captured.push(`[${level}] ${args.map(asText).join(" ")}`);
      });
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });
}

let requestCounter = 0;

/**
 * Sends a request to the worker with a fresh X-Request-Id (unless `requestId: null`) and keeps
 * what came back and which log lines it produced. `appId`: the app the log line must name
 * (null: none; undefined: not checked).
 */
export async function send(
  path: string,
  init: RequestInit & { requestId?: string | null; appId?: string | null } = {},
): Promise<Exchange> {
  const { requestId: given, appId, ...rest } = init;
  const requestId = given === undefined ? `req-${++requestCounter}-${crypto.randomUUID()}` : given;
  const headers = new Headers(rest.headers);
  if (requestId !== null) headers.set("X-Request-Id", requestId);
  const before = captured.length;
  const response = await exports.default.fetch(
    new Request(`${ORIGIN}${path}`, { redirect: "manual", ...rest, headers }),
  );
  const text = await response.text();
  const exchange: Exchange = {
    requestId,
    method: rest.method ?? "GET",
    path,
    status: response.status,
    text,
    headers: [...response.headers],
    expectedAppId: appId,
    logLines: captured.slice(before),
  };
  exchanges.push(exchange);
  return exchange;
}

export function json(exchange: Exchange): {
  success: boolean;
  error: string | null;
  data: unknown;
} {
  return JSON.parse(exchange.text);
}

export function postJson(
  path: string,
  body: unknown,
  headers: Record<string, string>,
  appId?: string | null,
): Promise<Exchange> {
  return send(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    appId,
  });
}

/** Creates a checkout (200) and registers its state as a secret. */
export async function created(headers: Record<string, string>, appId: string, path = CREATE) {
  const state = await secretState();
  const res = await postJson(path, validBody({ state }), headers, appId);
  expect(res.status, res.text).toBe(200);
  const { checkout } = json(res).data as { checkout: { id: string; hash: string } };
  return { ...checkout, state };
}

/** Nothing secret in any log line, response body or response header of this test. */
function expectNoLeaks() {
  const findings: Finding[] = [];
  captured.forEach((line, i) => {
    findings.push(...findLeaks(`log line ${i}: ${line.slice(0, 300)}`, line));
  });
  for (const x of exchanges) {
    const label = `${x.method} ${x.path.slice(0, 80)} → ${x.status}`;
    findings.push(...findLeaks(`body of ${label}`, x.text));
    for (const [name, value] of x.headers) {
      findings.push(...findLeaks(`header ${name} of ${label}`, `${name}: ${value}`));
    }
  }
  expect(findings).toEqual([]);
}

interface LogLine {
  requestId: unknown;
  method: unknown;
  route: unknown;
  status: unknown;
  durationMs: unknown;
  appId: unknown;
}

/** A request's JSON log line, as captured: `[info] {…}` or `[error] {…}`. */
const REQUEST_LINE = /^\[(info|error)\] \{/;
export const isRequestLine = (line: string) => REQUEST_LINE.test(line);
export const requestLine = (line: string) =>
  JSON.parse(line.slice(line.indexOf("]") + 2)) as LogLine;

/** The one JSON log line of a request: its id, method, route, status, duration and app. */
function expectOneLogLine(x: Exchange, responseRequestId: string | null) {
  const label = `${x.method} ${x.path.slice(0, 80)} → ${x.status}`;
  const own = x.logLines.filter(isRequestLine);
  expect(own, `log lines of ${label}: ${x.logLines.join("\n")}`).toHaveLength(1);
  // Our 5xx are logged at level error, everything else at info.
  expect(own[0]?.slice(0, own[0].indexOf("]") + 1), label).toBe(
    x.status >= 500 ? "[error]" : "[info]",
  );
  const line = requestLine(own[0] ?? "");
  for (const field of ["requestId", "method", "route", "status", "durationMs", "appId"]) {
    expect(line, label).toHaveProperty(field);
  }
  expect(line.requestId, label).toBe(x.requestId ?? responseRequestId);
  expect(line.method, label).toBe(x.method);
  expect(typeof line.route, label).toBe("string");
  expect(line.status, label).toBe(x.status);
  expect(typeof line.durationMs === "number" && line.durationMs >= 0, label).toBe(true);
  expect(line.appId === null || typeof line.appId === "string", label).toBe(true);
  if (x.expectedAppId !== undefined) expect(line.appId, label).toBe(x.expectedAppId);
}

/**
 * Every request of the test: its own log line, echoed X-Request-Id; and no leaks anywhere.
 * `otherRequests`: requests sent through the suite's helpers (not `send`), each one line.
 */
export function expectLogsAndNoLeaks(otherRequests = 0) {
  expect(exchanges.length).toBeGreaterThan(0);
  for (const x of exchanges) {
    const echoed = x.headers.find(([name]) => name.toLowerCase() === "x-request-id")?.[1] ?? null;
    if (x.requestId !== null) expect(echoed, x.path).toBe(x.requestId);
    expectOneLogLine(x, echoed);
  }
  // No log line without a request: every JSON line belongs to one of the exchanges.
  const jsonLines = captured.filter(isRequestLine);
  expect(jsonLines).toHaveLength(exchanges.length + otherRequests);
  expectNoLeaks();
}
