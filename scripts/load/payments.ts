import type { LoadClient } from "./client.ts";
import { create } from "./creates.ts";

/** Pays at the double's hosted page, which first delivers the signed webhooks to the worker. */
export async function complete(client: LoadClient): Promise<void> {
  const checkout = client.pick((c) => c.phase === "open");
  if (!checkout) return create(client);
  checkout.phase = "paying";
  const answer = await client.send(`${client.stack.stripeOrigin}/c/pay/${checkout.id}/pay`, {
    method: "POST",
  });
  let right = true;
  if (answer.status === "303") {
    checkout.phase = "paid";
    client.rec.completed.push(checkout);
    const location = answer.headers?.get("Location") ?? "";
    if (!location.includes(`session_id=${checkout.id}`)) {
      right = false;
      client.rec.note(`payment of ${checkout.id} went to ${location}`);
    }
  } else {
    if (answer.status === "ERR" || answer.status === "timeout") client.rec.completionsUnknown++;
    client.rec.note(`complete ${checkout.id} ${answer.status}: ${answer.text.slice(0, 200)}`);
  }
  client.rec.record("complete", answer.status, answer.ms, answer.status === "303", right);
}
