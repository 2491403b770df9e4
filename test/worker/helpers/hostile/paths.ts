import fc from "fast-check";
import type { Fixture } from "./fixture.ts";
import { anyText, longString, stateArb } from "./primitives.ts";

export const junkSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "..",
    ".",
    "%2e%2e",
    "%2E%2E%2F",
    "%00",
    "%",
    "%%",
    "%ZZ",
    "%E0%A4%A",
    "%C0%AF",
    "%FF",
    "%2F",
    "%5C",
    "%3F",
    "%23",
    "%u002e",
    "..%2f..%2f",
    ";",
    "checkout-sessions;x=1",
    "CHECKOUT-SESSIONS",
    "checkout-sessions.json",
    "%63heckout-sessions",
    "",
    "~",
    "*",
    ":id",
    "undefined",
    "__proto__",
    "constructor",
  ),
  fc.webSegment(),
  anyText.map((s) => encodeURIComponent(s)),
  anyText,
  fc.uuid(),
  fc.stringMatching(/^cs_(test|live)_[A-Za-z0-9]{1,40}$/),
  longString(500, 6000).map((s) => encodeURIComponent(s)),
);

export const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  fc.constantFrom("?", "?&&=&", "?state", "?state=", "?=x", "?%", "?state=%ZZ", "?a=1&a=2&a=3"),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom("state", "id", "__proto__", "constructor", "test", "hash"),
          fc.string({ maxLength: 8 }),
        ),
        fc.oneof(stateArb, anyText, longString(100, 3000)),
        fc.boolean(),
      ),
      { minLength: 1, maxLength: 5 },
    )
    .map(
      (pairs) =>
        `?${pairs.map(([k, v, encode]) => (encode ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`)).join("&")}`,
    ),
);

/** Paths under the API and the payment page, known routes with hostile parameters, and junk. */
export function pathArb(fx: Fixture): fc.Arbitrary<string> {
  const known = fc.constantFrom(
    "/api/v1/checkout-sessions",
    `/api/v1/tenants/${crypto.randomUUID()}/checkout-sessions`,
    `/api/v1/checkout-sessions/${fx.checkouts[0]?.id ?? "cs_test_x"}`,
    "/api/v1/webhooks/stripe",
    "/healthz",
    "/openapi.json",
    "/docs",
    "/",
    "/api",
    "/api/v1",
    "/api/v1/",
    "/api/v2/checkout-sessions",
    "/API/V1/CHECKOUT-SESSIONS",
    "/api/v1/checkout-sessions/",
    "/api//v1/checkout-sessions",
    "//api/v1/checkout-sessions",
    "/api/v1/checkout-sessions/../checkout-sessions",
    "/api/v1/tenants//checkout-sessions",
    "/checkout/",
    "/checkout",
  );
  const segments = fc.array(junkSegment, { minLength: 0, maxLength: 4 }).map((s) => s.join("/"));
  return fc.oneof(
    { weight: 2, arbitrary: known },
    segments.map((s) => `/api/v1/${s}`),
    segments.map((s) => `/checkout/${s}`),
    segments.map((s) => `/${s}`),
    junkSegment.map((id) => `/api/v1/tenants/${id}/checkout-sessions`),
    junkSegment.map((id) => `/api/v1/checkout-sessions/${id}`),
    fc
      .constantFrom(...fx.checkouts.map((c) => c.id))
      .map((id) => `/api/v1/checkout-sessions/${id}`),
    junkSegment.map((hash) => `/checkout/${hash}`),
    fc.constantFrom(...fx.checkouts.map((c) => c.hash)).map((hash) => `/checkout/${hash}`),
    longString(2000, 7000).map((s) => `/api/v1/${encodeURIComponent(s)}`),
  );
}
