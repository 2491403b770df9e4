import type { D1Database, Queue } from "@cloudflare/workers-types";
import {
  claimForSweep,
  claimUnsentOfEvent,
  claimUnsentOfOrigin,
  type DeliveryMessage,
  unclaim,
} from "../db/deliveries.ts";
import { errorForLog } from "../errors.ts";

/**
 * Handing deliveries to Cloudflare Queues. A batch that wrote events hands its deliveries over
 * after it committed (the route's waitUntil, the cron's own await); whatever was not handed over
 * (the queue failing, the isolate ending first) the sweep finds, so nothing stays unsent.
 */

export interface ProducerDeps {
  db: D1Database;
  queue: Queue<DeliveryMessage>;
  now: () => number;
}

/** Queues takes at most 100 messages per sendBatch. */
const SEND_BATCH = 100;

/** An attempt that is this overdue without a lease lost its message: the sweep sends a new one. */
const STUCK_SECONDS = 900;

/**
 * A message this old is replaced by a new one before the queue can drop it. Queues deletes a
 * message its retention period after it was sent, retries with a delay included (4 days by
 * default; at most 1 day on the free plan; docs/deployment.md). A delivery can wait longer than
 * that (the retry schedule is about three days, a redelivery starts it again, and an outage of
 * ours adds to it), and its message would be lost, found only 15 minutes after its attempt was
 * due. Renewing after 20 hours keeps every message within even a 1-day retention, with 4 hours
 * (24 sweeps) to spare; it costs one message a day per waiting delivery.
 */
const RENEW_MESSAGE_SECONDS = 20 * 3_600;

async function send(deps: ProducerDeps, messages: DeliveryMessage[]): Promise<number> {
  let sent = 0;
  for (let i = 0; i < messages.length; i += SEND_BATCH) {
    const chunk = messages.slice(i, i + SEND_BATCH);
    try {
      await deps.queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
      sent += chunk.length;
    } catch (err) {
      console.error(
        JSON.stringify({
          webhooks: "could not hand deliveries to the queue; the sweep sends them",
          deliveries: messages.length - sent,
          error: errorForLog(err, 200),
        }),
      );
      await unclaim(deps.db, messages.slice(i)).catch(() => undefined);
      break;
    }
  }
  return sent;
}

/** The deliveries of a committed batch's events (its origin). */
export async function enqueueOrigin(deps: ProducerDeps, origin: string): Promise<number> {
  return send(deps, await claimUnsentOfOrigin(deps.db, origin, deps.now()));
}

/** An event's redelivered deliveries. */
export async function enqueueRedelivered(
  deps: ProducerDeps,
  eventId: string,
  endpointIds: string[],
): Promise<number> {
  return send(deps, await claimUnsentOfEvent(deps.db, eventId, endpointIds, deps.now()));
}

/**
 * The cron's sweep: deliveries never handed over, whose message was lost, or whose message is
 * old enough for the queue's retention to drop it soon; at most `limit` of each.
 */
export async function sweepDeliveries(deps: ProducerDeps, limit: number): Promise<number> {
  const ages = { stuckSeconds: STUCK_SECONDS, renewSeconds: RENEW_MESSAGE_SECONDS };
  return send(deps, await claimForSweep(deps.db, deps.now(), ages, limit));
}
