import { randomBytes, randomUUID } from "node:crypto";
import type { Answer, LoadClient } from "./client.ts";

/**
 * The kinds of the load that go through the create routes: new checkouts, simultaneous twins,
 * repeats of a created one, conflicting repeats and invalid bodies.
 */

/** Tenants reused across creates, so completions teach the worker customers it then reuses. */
const TENANT_POOL = Array.from({ length: 32 }, () => randomUUID());

function newCheckout(): { path: string; body: Record<string, unknown> } {
  const subscription = Math.random() < 0.35;
  const reverseCharge = Math.random() < 0.2;
  // 30 % a new tenant, 30 % one of the pool (a known customer after a payment), 40 % none.
  // A subscription goes to a new tenant instead of the pool's: a tenant with a running
  // subscription is refused a second one (409), and the pool's would soon all have one.
  const route = Math.random();
  const tenantId =
    route < 0.3 || (route < 0.6 && subscription)
      ? randomUUID()
      : route < 0.6
        ? TENANT_POOL[Math.floor(Math.random() * TENANT_POOL.length)]
        : null;
  return {
    path: tenantId ? `/api/v1/tenants/${tenantId}/checkout-sessions` : "/api/v1/checkout-sessions",
    body: {
      price: subscription ? "price_eur_monthly" : "price_eur_once",
      quantity: 1 + Math.floor(Math.random() * 5),
      taxRate: reverseCharge ? "txr_reverse_charge_0" : "txr_vat_de_19",
      allowedCountry: ["DE", "AT", "FR", "NL", "IT"][Math.floor(Math.random() * 5)],
      paymentMethodType: Math.random() < 0.3 ? "sepa" : "card",
      billingAddressCollection: Math.random() < 0.5,
      mode: subscription ? "subscription" : "payment",
      isReverseCharge: reverseCharge,
      test: true,
      state: randomBytes(32).toString("hex"),
    },
  };
}

/** The checkout in a 200 answer, or null (and the reason noted) if it is not one. */
function checkoutOf(
  client: LoadClient,
  answer: Answer,
): { id: string; hash: string; url: string } | null {
  try {
    const parsed = JSON.parse(answer.text) as {
      data?: { checkout?: { id?: unknown; hash?: unknown; nextAction?: { url?: unknown } } };
    };
    const checkout = parsed.data?.checkout;
    if (
      typeof checkout?.id === "string" &&
      checkout.id.startsWith("cs_") &&
      typeof checkout.hash === "string" &&
      typeof checkout.nextAction?.url === "string"
    ) {
      return { id: checkout.id, hash: checkout.hash, url: checkout.nextAction.url };
    }
  } catch {
    // noted below
  }
  client.rec.note(`200 without a checkout: ${answer.text.slice(0, 200)}`);
  return null;
}

function remember(
  client: LoadClient,
  path: string,
  body: Record<string, unknown>,
  answer: Answer,
): boolean {
  const checkout = checkoutOf(client, answer);
  if (!checkout) return false;
  client.rec.created.push({ ...checkout, state: String(body.state), path, body, phase: "open" });
  return true;
}

export async function create(client: LoadClient): Promise<void> {
  const { path, body } = newCheckout();
  const answer = await client.post(path, JSON.stringify(body));
  const expected = client.createStatuses("200").includes(answer.status);
  const right = answer.status !== "200" || remember(client, path, body, answer);
  if (!expected) client.rec.note(`create ${answer.status}: ${answer.text.slice(0, 200)}`);
  client.rec.record("create", answer.status, answer.ms, expected, right);
}

/** The same new checkout twice at the same moment: one checkout, both told the same. */
export async function createTwin(client: LoadClient): Promise<void> {
  const { path, body } = newCheckout();
  const text = JSON.stringify(body);
  const answers = await Promise.all([client.post(path, text), client.post(path, text)]);
  const [first, second] = answers as [Answer, Answer];
  const allowed = client.createStatuses("200");
  let right = true;
  if (first.status === "200" && second.status === "200") {
    const a = checkoutOf(client, first);
    const b = checkoutOf(client, second);
    client.rec.repeatsCompared++;
    if (!a || !b || a.id !== b.id || a.hash !== b.hash || a.url !== b.url) {
      client.rec.repeatMismatches++;
      right = false;
      client.rec.note(`twins differ: ${a?.id}/${a?.hash} vs ${b?.id}/${b?.hash}`);
    }
    if (a) client.rec.created.push({ ...a, state: String(body.state), path, body, phase: "open" });
  } else {
    const ok = answers.find((answer) => answer.status === "200");
    if (ok) remember(client, path, body, ok);
  }
  for (const answer of answers) {
    const expected = allowed.includes(answer.status);
    if (!expected) client.rec.note(`create-twin ${answer.status}: ${answer.text.slice(0, 200)}`);
    client.rec.record("create-twin", answer.status, answer.ms, expected, right);
  }
}

export async function repeat(client: LoadClient): Promise<void> {
  const original = client.pick();
  if (!original) return create(client);
  const answer = await client.post(original.path, JSON.stringify(original.body));
  const expected = client.createStatuses("200").includes(answer.status);
  let right = true;
  if (answer.status === "200") {
    const again = checkoutOf(client, answer);
    client.rec.repeatsCompared++;
    if (
      !again ||
      again.id !== original.id ||
      again.hash !== original.hash ||
      again.url !== original.url
    ) {
      client.rec.repeatMismatches++;
      right = false;
      client.rec.note(`repeat of ${original.id} answered ${again?.id}/${again?.hash}`);
    }
  } else if (!expected) {
    client.rec.note(`repeat ${answer.status}: ${answer.text.slice(0, 200)}`);
  }
  client.rec.record("repeat", answer.status, answer.ms, expected, right);
}

export async function conflict(client: LoadClient): Promise<void> {
  const original = client.pick();
  if (!original) return create(client);
  const quantity = Number(original.body.quantity) + 1;
  const answer = await client.post(original.path, JSON.stringify({ ...original.body, quantity }));
  const expected = client.createStatuses("409").includes(answer.status);
  client.rec.conflictsSent++;
  if (answer.status === "409") client.rec.conflicts409++;
  if (answer.status === "429" && client.settings.rateLimits) client.rec.conflictsRateLimited++;
  if (!expected) client.rec.note(`conflict ${answer.status}: ${answer.text.slice(0, 200)}`);
  client.rec.record("conflict", answer.status, answer.ms, expected);
}

export async function badRequest(client: LoadClient): Promise<void> {
  const { path, body } = newCheckout();
  const variants = [
    JSON.stringify({ ...body, quantity: 0 }),
    JSON.stringify({ ...body, state: "short" }),
    JSON.stringify({ ...body, coupon: "FREE" }),
    JSON.stringify({ ...body, paymentMethodType: "sofort" }),
    JSON.stringify(body).slice(0, 40),
  ];
  const text = variants[Math.floor(Math.random() * variants.length)] ?? "{";
  const answer = await client.post(path, text);
  const expected = client.createStatuses("400").includes(answer.status);
  if (!expected) client.rec.note(`bad request ${answer.status}: ${answer.text.slice(0, 200)}`);
  client.rec.record("bad-request", answer.status, answer.ms, expected);
}
