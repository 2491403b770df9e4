import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hostileBody, objectBodyText } from "./helpers/hostile/bodies.ts";
import { type Checker, newTally, sendAndCheck, type Tally } from "./helpers/hostile/check.ts";
import { LONE_SURROGATE, printable } from "./helpers/hostile/envelope.ts";
import { type Fixture, givenFixture } from "./helpers/hostile/fixture.ts";
import {
  contentTypeArb,
  type HeaderList,
  hostileHeaders,
  requestIdArb,
} from "./helpers/hostile/headers.ts";
import { junkSegment, pathArb, queryArb } from "./helpers/hostile/paths.ts";
import { longString, stateArb } from "./helpers/hostile/primitives.ts";
import { METHODS } from "./helpers/hostile/request.ts";
import { deliver, deliverSigned, sessionEvent } from "./helpers/webhooks.ts";

/**
 * Property-based tests over the real worker: thousands of generated hostile requests (bodies,
 * headers, paths, query strings, methods), each checked for: no 5xx, the exact envelope (or the
 * payment page's HTML / 303, uncacheable), one log line with the request id, and no write for a
 * rejected request. Seeds are fixed so that every run (and CI) tries the same requests.
 */

const RUNS = { bodies: 1800, headers: 1550, paths: 1450, paymentPage: 900 } as const;
const MIN_TOTAL = 5000;
const PROPERTY_TIMEOUT_MS = 120_000;

const prototypeKeysBefore = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  function: Object.getOwnPropertyNames(Function.prototype).sort(),
};

const tallies: Record<keyof typeof RUNS, Tally> = {
  bodies: newTally(),
  headers: newTally(),
  paths: newTally(),
  paymentPage: newTally(),
};

let fx: Fixture;
const logs: string[] = [];
const acceptedIds = new Set<string>();
/** One checker per property: its cached counts are valid only within the property. */
const checker = (tally: Tally): Checker => ({ fx, tally, acceptedIds, logs });

beforeAll(async () => {
  fx = await givenFixture();
  // Keep the worker's thousands of log lines: each request's are checked (and shown on failure).
  for (const level of ["info", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(" "));
    });
  }
}, 60_000);

afterAll(() => {
  vi.restoreAllMocks();
  console.info(`hostile-input: requests tried per property ${JSON.stringify(tallies)}`);
});

const CREATE = "/api/v1/checkout-sessions";

describe("hostile input never breaks the worker", () => {
  it(
    `create bodies (${RUNS.bodies} runs): wrong types, huge, unicode, raw numbers, duplicate and prototype keys`,
    async () => {
      const credentials = (): fc.Arbitrary<HeaderList> =>
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(Object.entries(fx.writer.headers)) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              [["Authorization", `Bearer ${fx.tokens.valid}`]] as HeaderList,
              [["Authorization", `Bearer ${fx.tokens.validWithTenant}`]] as HeaderList,
            ),
          },
        );
      const checkBodies = checker(tallies.bodies);
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            path: fc.oneof(
              { weight: 4, arbitrary: fc.constant(CREATE) },
              fc.uuid().map((id) => `/api/v1/tenants/${id}/checkout-sessions`),
            ),
            credentials: credentials(),
            contentType: contentTypeArb,
            requestId: fc.option(requestIdArb),
            body: hostileBody,
          }),
          async ({ path, credentials, contentType, requestId, body }) => {
            const headers: HeaderList = [...credentials, ["Content-Type", contentType]];
            if (requestId !== null) headers.push(["X-Request-Id", requestId]);
            await sendAndCheck(checkBodies, { method: "POST", path, headers, body });
          },
        ),
        { seed: 20_261_101, numRuns: RUNS.bodies },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    `credential and other headers (${RUNS.headers} runs) on the create, tenant and read routes`,
    async () => {
      const route = fc.oneof(
        { weight: 3, arbitrary: fc.constant({ method: "POST" as const, path: CREATE }) },
        fc.uuid().map((id) => ({
          method: "POST" as const,
          path: `/api/v1/tenants/${id}/checkout-sessions`,
        })),
        fc.oneof(fc.constantFrom(...fx.checkouts.map((c) => c.id)), junkSegment).map((id) => ({
          method: "GET" as const,
          path: `/api/v1/checkout-sessions/${id}`,
        })),
      );
      const checkHeaders = checker(tallies.headers);
      await fc.assert(
        fc.asyncProperty(
          route,
          hostileHeaders(fx),
          objectBodyText,
          async ({ method, path }, headers, body) => {
            await sendAndCheck(checkHeaders, { method, path, headers, body });
          },
        ),
        { seed: 20_261_102, numRuns: RUNS.headers },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    `paths, query strings and methods (${RUNS.paths} runs) under /api/v1/, /checkout/ and elsewhere`,
    async () => {
      const headers = fc.oneof(
        { weight: 3, arbitrary: hostileHeaders(fx) },
        fc.constant([] as HeaderList),
        fc.constant([
          ...Object.entries(fx.reader.headers),
          ["Origin", "https://app.example.test"],
        ] as HeaderList),
      );
      const checkPaths = checker(tallies.paths);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...METHODS),
          pathArb(fx),
          queryArb,
          headers,
          fc.option(hostileBody, { freq: 3 }),
          async (method, path, query, headers, body) => {
            await sendAndCheck(checkPaths, { method, path, query, headers, body });
          },
        ),
        { seed: 20_261_103, numRuns: RUNS.paths },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    `the payment page (${RUNS.paymentPage} runs): real, altered and junk hashes, right, wrong and odd states`,
    async () => {
      const count = fx.checkouts.length;
      const target = fc.nat({ max: count - 1 }).chain((i) => {
        const own = fx.checkouts[i];
        const other = fx.checkouts[(i + 1) % count];
        if (!own || !other) throw new Error("no checkouts in the fixture");
        const hash = fc.oneof(
          { weight: 4, arbitrary: fc.constant(own.hash) },
          fc
            .tuple(fc.nat({ max: 31 }), fc.constantFrom("A", "_", "-", "z"))
            .map(([at, ch]) => `${own.hash.slice(0, at)}${ch}${own.hash.slice(at + 1)}`),
          fc.constantFrom(
            own.hash.toUpperCase(),
            `${own.hash}=`,
            `${own.hash}%00`,
            own.hash.slice(1),
          ),
          fc.stringMatching(/^[A-Za-z0-9_-]{32}$/),
          junkSegment,
        );
        const state = fc.oneof(
          { weight: 4, arbitrary: fc.constant(`?state=${own.state}`) },
          fc.constantFrom(
            `?state=${other.state}`,
            "",
            "?state=",
            "?state",
            `?state=${own.state}&state=${other.state}`,
            `?state=${other.state}&state=${own.state}`,
            `?STATE=${own.state}`,
            `?state=${encodeURIComponent(own.state).replace(/[A-Za-z]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)}`,
            `?state=${own.state}%00`,
            `?state=${own.state.slice(1)}`,
            `?state=${own.state}&x=${"y".repeat(5000)}`,
          ),
          stateArb.map((s) => `?state=${s}`),
          queryArb,
        );
        return fc.tuple(hash, state);
      });
      const headers = fc.oneof(
        { weight: 3, arbitrary: fc.constant([] as HeaderList) },
        fc
          .tuple(
            fc.oneof(fc.constantFrom("de-DE,de;q=0.9", "en-US", "fr", "*", ""), fc.string()),
            fc.option(requestIdArb),
          )
          .map(([lang, id]) => {
            const list: HeaderList = [["Accept-Language", lang]];
            if (id !== null) list.push(["X-Request-Id", id]);
            return list;
          }),
        hostileHeaders(fx),
      );
      const method = fc.oneof(
        { weight: 8, arbitrary: fc.constant("GET" as const) },
        fc.constantFrom(...METHODS),
      );
      const checkPage = checker(tallies.paymentPage);
      await fc.assert(
        fc.asyncProperty(
          method,
          target,
          headers,
          fc.option(hostileBody, { freq: 4 }),
          async (method, [hash, query], headers, body) => {
            await sendAndCheck(checkPage, {
              method,
              path: `/checkout/${hash}`,
              query,
              headers,
              body,
            });
          },
        ),
        { seed: 20_261_104, numRuns: RUNS.paymentPage },
      );
      // The generators reach the redirect and the failure pages, not only one of them.
      expect(tallies.paymentPage.statuses[303] ?? 0).toBeGreaterThan(0);
      expect(tallies.paymentPage.statuses[404] ?? 0).toBeGreaterThan(0);
      expect(tallies.paymentPage.statuses[403] ?? 0).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT_MS,
  );

  // Found by this file: the error used to cut the path at 200 UTF-16 code units, which could
  // split a character outside the BMP and leave a lone surrogate in the error text.
  it("names an unknown path in whole characters, even when cut short", async () => {
    const path = `/${"a".repeat(198)}${"\u{1F600}".repeat(3)}`;
    const response = await exports.default.fetch(new Request(`https://pay.example.test${path}`));
    expect(response.status).toBe(404);
    const { error } = (await response.json()) as { error: string };
    expect(error).toMatch(/^No route for GET \/a+/);
    expect(LONE_SURROGATE.test(error), printable(error)).toBe(false);
  });

  // Found by this file: an event that is correctly signed but has no `data.object` (or is not
  // an object at all) used to throw a TypeError, answered 500. Now it is 400 "Malformed event".
  for (const [name, event] of [
    [
      "without data.object",
      { ...sessionEvent("checkout.session.completed", { id: "cs_test_x" }), data: {} },
    ],
    [
      "with data.object null",
      { ...sessionEvent("checkout.session.expired", { id: "cs_test_x" }), data: { object: null } },
    ],
    ["whose payload is null", null],
  ] as const) {
    it(`answers a signed event ${name} with 400`, async () => {
      const res = await deliver(event);
      expect(res.status).toBe(400);
      expect(String(res.body.error)).toMatch(/^Malformed event/);
      expect(Object.keys(res.body).sort()).toEqual(["data", "error", "message", "success"]);
    });
  }

  // Issue 12: a validly signed body that is not JSON was a 500 whose log quoted the body.
  it(
    "answers validly signed bodies that are not JSON events with 400, logging none of them",
    async () => {
      const marker = "PAYLOAD-MARKER";
      const notAnEvent = fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 60 }).map((s) => `${marker}${s}`),
        fc.string({ unit: "binary", maxLength: 60 }).map((s) => `{"id":"${marker}${s}`),
        fc.constantFrom(`${marker}`, `{"${marker}":`, `[${marker}]`, `<xml>${marker}</xml>`),
        longString(8 * 1024, 9 * 1024).map((s) => `${marker}${s}`),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify([marker, v])),
      );
      await fc.assert(
        fc.asyncProperty(notAnEvent, async (payload) => {
          const logsBefore = logs.length;
          const res = await deliverSigned(payload);
          const written = logs.slice(logsBefore).join("\n");
          expect(res.status, printable(payload.slice(0, 80))).toBe(400);
          const body = JSON.parse(res.text) as { success: boolean; error: string };
          expect(body.success).toBe(false);
          expect(body.error).toMatch(/^Malformed event/);
          expect(res.text.includes(marker)).toBe(false);
          expect(written.includes(marker), printable(written.slice(0, 300))).toBe(false);
        }),
        { seed: 20_261_201, numRuns: 150 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(`tried at least ${MIN_TOTAL} requests in all, and reached success as well as refusal`, () => {
    const total = Object.values(tallies).reduce((sum, t) => sum + t.tried, 0);
    const summary = JSON.stringify(tallies, (key, value) => (key === "errors" ? undefined : value));
    expect(total, summary).toBeGreaterThanOrEqual(MIN_TOTAL);
    for (const [name, tally] of Object.entries(tallies)) {
      // Only requests that fetch itself refuses to build (non-Latin-1 header values) are skipped.
      expect(tally.tried, `${name}: ${summary}`).toBeGreaterThanOrEqual(
        0.8 * RUNS[name as keyof typeof RUNS],
      );
    }
    expect(tallies.bodies.statuses[200] ?? 0, summary).toBeGreaterThan(100);
    expect(tallies.bodies.statuses[400] ?? 0, summary).toBeGreaterThan(500);
    expect(tallies.headers.statuses[401] ?? 0, summary).toBeGreaterThan(50);
  });

  it("left every prototype unpolluted", () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore.object);
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(prototypeKeysBefore.array);
    expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(
      prototypeKeysBefore.function,
    );
  });
});
