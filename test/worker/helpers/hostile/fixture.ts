import { expect } from "vitest";
import type { AppRecord } from "../../../../src/apps/records.ts";
import { type GivenKey, givenKey, givenWriter, newState } from "../apps.ts";
import { postJson, validBody } from "../http.ts";
import { stripe } from "../stripe.ts";
import { base64UrlJson, givenTokenApp, newKeyPair, signToken } from "../tokens.ts";

/** The apps, keys, tokens and real checkouts the hostile-input generators draw from. */

/** The one browser origin the fixture's token app allows. */
export const KNOWN_BROWSER_ORIGIN = "https://app.example.test";

interface RealCheckout {
  appId: string;
  id: string;
  hash: string;
  state: string;
}

export interface Fixture {
  writerApp: AppRecord;
  writer: GivenKey;
  reader: GivenKey;
  otherWriter: GivenKey;
  tokenApp: AppRecord;
  tokens: {
    valid: string;
    validWithTenant: string;
    expired: string;
    otherAudience: string;
    algNone: string;
    hs256: string;
  };
  checkouts: RealCheckout[];
  /** Apps whose rows the write checks count (every app a generated request can write for). */
  appIds: string[];
}

export async function givenFixture(): Promise<Fixture> {
  // Live enabled, so that `"test": false` (and a missing `test`) reach Stripe too.
  const { app: writerApp, key: writer } = await givenWriter({ liveEnabled: true });
  const reader = await givenKey(writerApp.id, "read");
  const { key: otherWriter } = await givenWriter();
  const keys = await newKeyPair();
  const tokenApp = await givenTokenApp(keys, { allowedOrigins: [KNOWN_BROWSER_ORIGIN] });
  const now = Math.floor(Date.now() / 1000);
  const header = base64UrlJson({ alg: "none", typ: "JWT" });
  const claims = base64UrlJson({
    iss: "https://auth.example.test",
    aud: tokenApp.id,
    exp: now + 600,
  });
  const tokens = {
    // Valid for 15 minutes: longer than any run of the properties.
    valid: await signToken(keys, tokenApp, { exp: now + 900 }),
    validWithTenant: await signToken(keys, tokenApp, {
      exp: now + 900,
      tenantId: crypto.randomUUID(),
    }),
    expired: await signToken(keys, tokenApp, { iat: now - 4000, exp: now - 3600 }),
    otherAudience: await signToken(keys, tokenApp, { aud: writerApp.id, exp: now + 900 }),
    algNone: `${header}.${claims}.`,
    hs256: `${base64UrlJson({ alg: "HS256", typ: "JWT" })}.${claims}.c2lnbmF0dXJl`,
  };

  const checkouts: RealCheckout[] = [];
  for (let i = 0; i < 4; i++) {
    const state = newState();
    const res = await postJson("/api/v1/checkout-sessions", validBody({ state }), writer.headers);
    expect(res.status).toBe(200);
    const { id, hash } = (res.body.data as { checkout: { id: string; hash: string } }).checkout;
    checkouts.push({ appId: writerApp.id, id, hash, state });
  }
  stripe.reset();
  return {
    writerApp,
    writer,
    reader,
    otherWriter,
    tokenApp,
    tokens,
    checkouts,
    appIds: [writerApp.id, tokenApp.id],
  };
}
