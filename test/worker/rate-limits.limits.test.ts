import { beforeEach, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/apps/keys.ts";
import { givenKey, givenWriter, newState } from "./helpers/apps.ts";
import { paidSubscription } from "./helpers/billing.ts";
import { postJson, rowsOfApp, validBody } from "./helpers/http.ts";
import { expectDocumentedFailure } from "./helpers/openapi.ts";
import { stripe } from "./helpers/stripe.ts";
import { givenTokenApp, newKeyPair, signToken } from "./helpers/tokens.ts";

// This project's rate-limit bindings (vitest.config.ts, SMALL): per 60 s, 5 creates per
// credential, 8 per address, 3 failed credential checks per address.
const LIMIT = 5;
const PER_ADDRESS = 8;
const FAILURES = 3;
const CREATE = "/api/v1/checkout-sessions";
// A new client address for each use, so tests never share a counter by chance.
let lastAddress = 0;
const address = () => {
  lastAddress += 1;
  return `198.51.${Math.floor(lastAddress / 250)}.${(lastAddress % 250) + 1}`;
};

/**
 * The local limiter counts in windows aligned to the clock's minutes (as Cloudflare's does), so
 * a test that counts calls must not straddle a minute's end: the count would start again. Each
 * test takes about a second; one that would start in a minute's last 8 seconds waits them out
 * (fresh CI once saw the sixth call pass when the calls crossed a minute).
 */
async function awayFromTheWindowsEnd() {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 52_000)
    await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 50));
}

beforeEach(awayFromTheWindowsEnd, 10_000);

describe("rate limits (Cloudflare's rate limiting binding)", () => {
  it("limits creates per API key: the sixth call in a minute is 429 with Retry-After, nothing written", async () => {
    const { app, headers } = await givenWriter();
    for (let i = 0; i < LIMIT; i++) {
      expect(
        (
          await postJson(CREATE, validBody({ state: newState() }), {
            ...headers,
            "CF-Connecting-IP": address(),
          })
        ).status,
      ).toBe(200);
    }
    const limited = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "CF-Connecting-IP": address(),
    });
    expect(limited.status).toBe(429);
    expect(limited.response.headers.get("Retry-After")).toBe("60");
    expect(limited.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: "Too many checkout sessions for this credential; retry after 60 seconds",
    });
    expect(stripe.creates()).toHaveLength(LIMIT);
    expect(await rowsOfApp(app.id)).toHaveLength(LIMIT);

    // Another key of the same app still works.
    const other = await givenKey(app.id, "write");
    expect(
      (
        await postJson(CREATE, validBody({ state: newState() }), {
          ...other.headers,
          "CF-Connecting-IP": address(),
        })
      ).status,
    ).toBe(200);
  });

  it("limits creates per client address, across keys", async () => {
    const ip = address();
    for (let i = 0; i < PER_ADDRESS; i++) {
      const { headers } = await givenWriter();
      expect(
        (
          await postJson(CREATE, validBody({ state: newState() }), {
            ...headers,
            "CF-Connecting-IP": ip,
          })
        ).status,
      ).toBe(200);
    }
    const { app, headers } = await givenWriter();
    const limited = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "CF-Connecting-IP": ip,
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe(
      "Too many checkout sessions from this address; retry after 60 seconds",
    );
    expect(limited.response.headers.get("Retry-After")).toBe("60");
    expect(await rowsOfApp(app.id)).toHaveLength(0);
  });

  it("limits failed credential checks per address, then refuses even a right key from it", async () => {
    const ip = address();
    const { headers } = await givenWriter();
    for (let i = 0; i < FAILURES; i++) {
      const wrong = await postJson(CREATE, validBody({ state: newState() }), {
        ...headers,
        "X-API-KEY": generateApiKey("write"),
        "CF-Connecting-IP": ip,
      });
      expect(wrong.status).toBe(401);
    }
    const limited = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "X-API-KEY": generateApiKey("write"),
      "CF-Connecting-IP": ip,
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe(
      "Too many failed credential checks from this address; retry after 60 seconds",
    );
    expect(limited.response.headers.get("Retry-After")).toBe("60");

    const right = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "CF-Connecting-IP": ip,
    });
    expect(right.status).toBe(429);
    expect(stripe.requests).toHaveLength(0);

    // Other addresses are not affected.
    expect(
      (
        await postJson(CREATE, validBody({ state: newState() }), {
          ...headers,
          "CF-Connecting-IP": address(),
        })
      ).status,
    ).toBe(200);
  });

  it("counts failed token checks too", async () => {
    const ip = address();
    const statuses: number[] = [];
    for (let i = 0; i <= FAILURES; i++) {
      const res = await postJson(CREATE, validBody({ state: newState() }), {
        Authorization: "Bearer a.b.c",
        "CF-Connecting-IP": ip,
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(FAILURES).fill(401), 429]);
  });
});

describe("rate-limit buckets (issue 12, item 10)", () => {
  it("gives each signed-in user (the token's sub) a bucket of its own within one app and tenant", async () => {
    const keys = await newKeyPair();
    const app = await givenTokenApp(keys);
    const tenantId = crypto.randomUUID();
    const create = async (sub: string) =>
      (
        await postJson(CREATE, validBody({ state: newState() }), {
          Authorization: `Bearer ${await signToken(keys, app, { tenantId, sub })}`,
          "CF-Connecting-IP": address(),
        })
      ).status;
    for (let i = 0; i < LIMIT; i++) expect(await create("alice")).toBe(200);
    expect(await create("alice")).toBe(429);
    // Bob, of the same tenant, is not held back by Alice's calls.
    expect(await create("bob")).toBe(200);
  });

  it("counts the addresses of one IPv6 /64 as one, and another /64 apart", async () => {
    const { app } = await givenWriter();
    const keys = await Promise.all(
      Array.from({ length: PER_ADDRESS + 2 }, () => givenKey(app.id, "write")),
    );
    const from = (i: number, ip: string) =>
      postJson(CREATE, validBody({ state: newState() }), {
        ...keys[i]?.headers,
        "CF-Connecting-IP": ip,
      });
    // One host may use its whole /64: each call from another address in it, in any spelling.
    for (let i = 0; i < PER_ADDRESS; i++) {
      const ip =
        i % 2 === 0 ? `2001:db8:7:1::${i + 1}` : `2001:DB8:7:1:0:0:0:${(i + 1).toString(16)}`;
      expect((await from(i, ip)).status).toBe(200);
    }
    const limited = await from(PER_ADDRESS, "2001:db8:7:1:ffff:ffff:ffff:ffff");
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe(
      "Too many checkout sessions from this address; retry after 60 seconds",
    );
    expect((await from(PER_ADDRESS + 1, "2001:db8:7:2::1")).status).toBe(200);
  });
});

describe("rate limits of the portal (issue 19, B10)", () => {
  const PORTAL = "/api/v1/tenants/{tenantId}/portal-sessions";
  const portalOf = (tenantId: string) => `/api/v1/tenants/${tenantId}/portal-sessions`;
  const portalCreates = () =>
    stripe.requests.filter((r) => r.method === "POST" && r.path === "/v1/billing_portal/sessions");

  /** A tenant with a Stripe customer, of an app whose portal is set up (its own address). */
  async function tenantWithCustomer() {
    const { app: made, headers } = await givenWriter({
      portalReturnUrl: "https://app.example.test/account",
    });
    const { tenantId } = await paidSubscription({ ...headers, "CF-Connecting-IP": address() });
    stripe.savePortalConfiguration(false);
    stripe.requests.length = 0;
    return { app: made, headers, tenantId };
  }

  it("limits portal sessions per API key, with counters apart from the key's creates", async () => {
    const { app, headers, tenantId } = await tenantWithCustomer();
    const open = (keyHeaders: Record<string, string>) =>
      postJson(
        portalOf(tenantId),
        { test: true },
        { ...keyHeaders, "CF-Connecting-IP": address() },
      );
    // The key made one checkout already (the tenant's subscription): shared counters would stop
    // its fifth portal session.
    for (let i = 0; i < LIMIT; i++) expect((await open(headers)).status).toBe(200);
    const limited = await open(headers);
    expect(limited.status).toBe(429);
    expect(limited.response.headers.get("Retry-After")).toBe("60");
    expect(limited.body).toEqual({
      success: false,
      message: null,
      data: null,
      error: "Too many portal sessions for this credential; retry after 60 seconds",
    });
    expect(portalCreates()).toHaveLength(LIMIT);
    await expectDocumentedFailure("post", PORTAL, limited);

    // The key still creates checkouts, and another key of the app still opens the portal.
    const create = await postJson(CREATE, validBody({ state: newState() }), {
      ...headers,
      "CF-Connecting-IP": address(),
    });
    expect(create.status).toBe(200);
    expect((await open((await givenKey(app.id, "write")).headers)).status).toBe(200);
  });

  it("limits portal sessions per client address, across keys", async () => {
    const { app, headers, tenantId } = await tenantWithCustomer();
    const other = await givenKey(app.id, "write");
    const ip = address();
    for (let i = 0; i < PER_ADDRESS; i++) {
      const res = await postJson(
        portalOf(tenantId),
        { test: true },
        { ...(i % 2 === 0 ? headers : other.headers), "CF-Connecting-IP": ip },
      );
      expect(res.status).toBe(200);
    }
    const limited = await postJson(
      portalOf(tenantId),
      { test: true },
      { ...(await givenKey(app.id, "write")).headers, "CF-Connecting-IP": ip },
    );
    expect(limited.status).toBe(429);
    expect(limited.response.headers.get("Retry-After")).toBe("60");
    expect(limited.body.error).toBe(
      "Too many portal sessions from this address; retry after 60 seconds",
    );
    await expectDocumentedFailure("post", PORTAL, limited);
    expect(portalCreates()).toHaveLength(PER_ADDRESS);
    // Checkouts from that address are counted apart.
    const create = await postJson(CREATE, validBody({ state: newState() }), {
      ...(await givenKey(app.id, "write")).headers,
      "CF-Connecting-IP": ip,
    });
    expect(create.status).toBe(200);
  });

  it("gives each signed-in user of the tenant a bucket of its own", async () => {
    const keys = await newKeyPair();
    const app = await givenTokenApp(keys, { portalReturnUrl: "https://app.example.test/account" });
    const writer = await givenKey(app.id, "write");
    const { tenantId } = await paidSubscription({
      ...writer.headers,
      "CF-Connecting-IP": address(),
    });
    stripe.savePortalConfiguration(false);
    const open = async (sub: string) =>
      (
        await postJson(
          portalOf(tenantId),
          { test: true },
          {
            Authorization: `Bearer ${await signToken(keys, app, { tenantId, sub })}`,
            "CF-Connecting-IP": address(),
          },
        )
      ).status;
    for (let i = 0; i < LIMIT; i++) expect(await open("alice")).toBe(200);
    expect(await open("alice")).toBe(429);
    expect(await open("bob")).toBe(200);
  });
});
