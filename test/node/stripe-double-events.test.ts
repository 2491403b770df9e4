import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useDoubleServer } from "./helpers/double-server.ts";

/**
 * The events the double's loopback server sends to the worker are signed as Stripe signs them:
 * each with the secret of the endpoint Stripe sends it to, the mode's Connect endpoint for a
 * connected account's event, else the mode's account endpoint (docs/stripe-double.md).
 */

const SECRETS = {
  STRIPE_WEBHOOK_SECRET_TEST: "whsec_events_test",
  STRIPE_WEBHOOK_SECRET_LIVE: "whsec_events_live",
  STRIPE_CONNECT_WEBHOOK_SECRET_TEST: "whsec_events_connect_test",
  STRIPE_CONNECT_WEBHOOK_SECRET_LIVE: "whsec_events_connect_live",
};

interface Arrived {
  signature: string;
  body: string;
}
const arrived: Arrived[] = [];
let receiver: Server;
let receiverUrl = "";

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      arrived.push({
        signature: String(req.headers["stripe-signature"] ?? ""),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/v1/webhooks/stripe`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});
beforeEach(() => {
  arrived.length = 0;
});

const double = useDoubleServer(() => ({ WEBHOOK_URL: receiverUrl, ...SECRETS }));
/** A platform without Connect endpoints: its double has only the account endpoints' secrets. */
const withoutConnect = useDoubleServer(() => ({
  WEBHOOK_URL: receiverUrl,
  STRIPE_WEBHOOK_SECRET_TEST: SECRETS.STRIPE_WEBHOOK_SECRET_TEST,
  STRIPE_WEBHOOK_SECRET_LIVE: SECRETS.STRIPE_WEBHOOK_SECRET_LIVE,
}));

/** A session created at the double with a key of the mode, on the account if given, then paid. */
async function paySession(livemode: boolean, account?: string, origin = double.origin()) {
  const created = await fetch(`${origin}/v1/checkout/sessions`, {
    method: "POST",
    headers: {
      Authorization: `Bearer sk_${livemode ? "live" : "test"}_events`,
      "Content-Type": "application/x-www-form-urlencoded",
      ...(account ? { "Stripe-Account": account } : {}),
    },
    body: new URLSearchParams({
      mode: "payment",
      success_url: "https://app.example.test/ok",
      cancel_url: "https://app.example.test/no",
      "line_items[0][price]": "price_eur_once",
      "line_items[0][quantity]": "1",
      expires_at: String(Math.floor(Date.now() / 1000) + 3600),
    }),
  });
  expect(created.status).toBe(200);
  const { id } = (await created.json()) as { id: string };
  const paid = await fetch(`${origin}/c/pay/${id}/pay`, {
    method: "POST",
    redirect: "manual",
  });
  expect(paid.status).toBe(303);
}

/** The secrets, by name, that verify the request as it arrived. */
function verifiedBy({ body, signature }: Arrived): string[] {
  return Object.entries(SECRETS).flatMap(([name, secret]) => {
    try {
      Stripe.webhooks.constructEvent(body, signature, secret);
      return [name];
    } catch {
      return [];
    }
  });
}

describe("the double's loopback server signs each event with its endpoint's secret", () => {
  it.each([
    ["a test-mode event of the platform", ["STRIPE_WEBHOOK_SECRET_TEST"], false, undefined],
    ["a live event of the platform", ["STRIPE_WEBHOOK_SECRET_LIVE"], true, undefined],
    // Stripe sends a connected account's test events to the live Connect endpoint as well.
    [
      "a connected account's test-mode event",
      ["STRIPE_CONNECT_WEBHOOK_SECRET_LIVE", "STRIPE_CONNECT_WEBHOOK_SECRET_TEST"],
      false,
      "acct_events1",
    ],
    [
      "a connected account's live event",
      ["STRIPE_CONNECT_WEBHOOK_SECRET_LIVE"],
      true,
      "acct_events1",
    ],
  ] as const)(
    "%s: to the endpoints of %s, each signed by its own",
    async (_what, secretNames, livemode, account) => {
      await paySession(livemode, account);
      expect(arrived.length).toBeGreaterThan(0);
      const signers = new Map<string, string[]>();
      for (const request of arrived) {
        const event = JSON.parse(request.body) as {
          id: string;
          livemode: boolean;
          account?: string;
        };
        expect(event.livemode).toBe(livemode);
        expect(event.account).toBe(account);
        const by = verifiedBy(request);
        expect(by).toHaveLength(1);
        signers.set(event.id, [...(signers.get(event.id) ?? []), ...by].sort());
      }
      for (const names of signers.values()) expect(names).toEqual([...secretNames]);
    },
  );
});

describe("without a Connect endpoint's secret", () => {
  it("sends a connected account's events nowhere, and still the platform's", async () => {
    await paySession(false, "acct_events2", withoutConnect.origin());
    expect(arrived).toEqual([]);
    await paySession(false, undefined, withoutConnect.origin());
    expect(arrived.length).toBeGreaterThan(0);
    for (const request of arrived) {
      expect(verifiedBy(request)).toEqual(["STRIPE_WEBHOOK_SECRET_TEST"]);
    }
  });
});
