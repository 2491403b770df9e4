import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/apps/keys.ts";
import { sha256Hex } from "../../src/crypto.ts";
import { apiKey, findLeaks, secretState } from "./helpers/leaks.ts";

/** The leak detector the no-secrets tests rely on finds what it must (helpers/leaks.ts). */

describe("the leak detector", () => {
  it("finds a whole secret, a 12-character slice past the prefix, and a digest", async () => {
    const key = await apiKey("probe key", generateApiKey("write"));
    const probe = await secretState("probe state");
    expect(findLeaks("t", `{"x":"${key}"}`).map((f) => f.secret)).toEqual(["probe key"]);
    expect(findLeaks("t", `…${key.slice(20, 32)}…`).map((f) => f.secret)).toEqual(["probe key"]);
    expect(findLeaks("t", "cko_write_ only the prefix")).toEqual([]);
    expect(findLeaks("t", probe.slice(30, 42)).map((f) => f.secret)).toEqual(["probe state"]);
    expect(findLeaks("t", await sha256Hex(probe)).map((f) => f.secret)).toEqual([
      "SHA-256 of probe state",
    ]);
    const stripeKey = env.STRIPE_SECRET_KEY_TEST ?? "";
    expect(findLeaks("t", stripeKey.slice(-12)).map((f) => f.secret)).toContain(
      "STRIPE_SECRET_KEY_TEST",
    );
    expect(findLeaks("t", env.STRIPE_WEBHOOK_SECRET_TEST ?? "").length).toBeGreaterThan(0);
    const connectSecret = env.STRIPE_CONNECT_WEBHOOK_SECRET_LIVE ?? "";
    expect(findLeaks("t", `…${connectSecret.slice(-12)}…`).map((f) => f.secret)).toContain(
      "STRIPE_CONNECT_WEBHOOK_SECRET_LIVE",
    );
  });
});
