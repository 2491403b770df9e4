import { randomBytes } from "node:crypto";
import type { LoadClient } from "./client.ts";
import { create } from "./creates.ts";

/** The kinds of the load that look at a created checkout: the API's read and the payment page. */

export async function read(client: LoadClient): Promise<void> {
  const checkout = client.pick();
  if (!checkout) return create(client);
  const phaseBefore = checkout.phase;
  const answer = await client.send(
    `${client.stack.workerOrigin}/api/v1/checkout-sessions/${checkout.id}`,
    { headers: client.readHeaders },
  );
  let right = true;
  if (answer.status === "200") {
    let got: { id?: unknown; status?: unknown } | undefined;
    try {
      got = (JSON.parse(answer.text) as { data?: { checkout?: typeof got } }).data?.checkout;
    } catch {
      got = undefined;
    }
    // Paid before the read was sent: complete (webhooks come first). Open before and after
    // (no payment started meanwhile): open. A payment on its way meanwhile: either.
    const wantStatus =
      phaseBefore === "paid"
        ? "complete"
        : phaseBefore === "open" && checkout.phase === "open"
          ? "open"
          : null;
    if (got?.id !== checkout.id || (wantStatus && got.status !== wantStatus)) {
      right = false;
      client.rec.note(
        `read ${checkout.id} (${phaseBefore}) answered ${String(got?.id)} ${String(got?.status)}`,
      );
    }
  } else {
    client.rec.note(`read ${answer.status}: ${answer.text.slice(0, 200)}`);
  }
  client.rec.record("read", answer.status, answer.ms, answer.status === "200", right);
}

export async function page(client: LoadClient): Promise<void> {
  const checkout = client.pick();
  if (!checkout) return create(client);
  const phaseBefore = checkout.phase;
  const answer = await client.send(`${checkout.url}?state=${checkout.state}`, {});
  // As for reads: only a payment that started or ended during the request allows either.
  const allowed =
    phaseBefore === "paid"
      ? ["410"]
      : phaseBefore === "open" && checkout.phase === "open"
        ? ["303"]
        : ["303", "410"];
  const expected = allowed.includes(answer.status);
  let right = true;
  if (answer.status === "303") {
    const location = answer.headers?.get("Location");
    if (location !== `${client.stack.stripeOrigin}/c/pay/${checkout.id}`) {
      right = false;
      client.rec.note(`page of ${checkout.id} went to ${location}`);
    }
  }
  if (!expected) client.rec.note(`page (${phaseBefore}) ${answer.status}`);
  client.rec.record("page", answer.status, answer.ms, expected, right);
}

export async function pageWrongState(client: LoadClient): Promise<void> {
  const checkout = client.pick();
  if (!checkout) return create(client);
  const answer = await client.send(`${checkout.url}?state=${randomBytes(32).toString("hex")}`, {});
  if (answer.status !== "404") client.rec.note(`page with a wrong state ${answer.status}`);
  client.rec.record("page-wrong-state", answer.status, answer.ms, answer.status === "404");
}
