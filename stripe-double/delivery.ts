/**
 * How Stripe delivers the events of one moment (a renewal, a paid subscription checkout, a
 * portal action): all at once, not one after another, so they reach the worker concurrently
 * and in no promised order; an event answered with anything but 2xx is delivered again later.
 * (docs.stripe.com/webhooks "Event ordering" and "Retry behavior"; docs/stripe-double.md.)
 * Sequential delivery, each awaited before the next, exists only for a test that asks for it.
 */
import type { DoubleEvent } from "./wire.ts";

export interface DeliveryOptions {
  /** One after another, each answered before the next is sent (kinder than Stripe). */
  sequential?: boolean;
  /** Rounds of redelivery of the events that failed (Stripe tries for days; compressed here). */
  retries?: number;
  /** Pause before each round of redelivery, in ms. */
  retryAfterMs?: number;
}

export interface Delivered {
  event: DoubleEvent;
  /** The last answer's status; 0 when none came. */
  status: number;
  attempts: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `events` with `post` (which answers the receiver's status, 0 for none) as Stripe does,
 * and returns how each ended: a 2xx, or the last failure after the retries ran out.
 */
export async function deliverEvents(
  events: readonly DoubleEvent[],
  post: (event: DoubleEvent) => Promise<number>,
  options: DeliveryOptions = {},
): Promise<Delivered[]> {
  const results: Delivered[] = events.map((event) => ({ event, status: 0, attempts: 0 }));
  const send = async (result: Delivered) => {
    result.attempts += 1;
    result.status = await post(result.event).catch(() => 0);
  };
  const failed = () => results.filter((r) => r.status < 200 || r.status > 299);
  const round = async (pending: Delivered[]) => {
    if (options.sequential) for (const result of pending) await send(result);
    else await Promise.all(pending.map(send));
  };
  await round(results);
  for (let retry = 0; retry < (options.retries ?? 5) && failed().length > 0; retry++) {
    await sleep(options.retryAfterMs ?? 20);
    await round(failed());
  }
  return results;
}
