import type { D1PreparedStatement } from "@cloudflare/workers-types";
import { type EventMatch, recordCompletionStatements } from "../db/checkout-events.ts";
import { OutboxBatch } from "../db/outbox.ts";
import type { CheckoutSessionAtStripe } from "../stripe/objects.ts";

export interface CompletionReadDeps {
  db: D1Database;
  now: () => number;
  nowMs: () => number;
}

/**
 * A completion learnt by reading its session (its events late or lost), recorded as
 * `checkout.session.completed` records it, with `also` in the same batch; returns its origin.
 */
export async function recordCompletionRead(
  deps: CompletionReadDeps,
  match: EventMatch,
  session: CheckoutSessionAtStripe,
  options: { completedAt: number; also?: D1PreparedStatement[] },
): Promise<string> {
  const now = deps.now();
  const outbox = new OutboxBatch(deps.db, deps.nowMs());
  await deps.db.batch([
    ...recordCompletionStatements(deps.db, outbox, match, {
      paymentStatus: session.paymentStatus,
      final: false,
      customerId: session.customerId,
      subscriptionId: session.subscriptionId,
      paymentIntentId: session.paymentIntentId,
      setupIntentId: session.setupIntentId,
      completedAt: options.completedAt,
      now,
    }),
    ...(options.also ?? []),
    ...outbox.finish(),
  ]);
  return outbox.origin;
}
