import type { D1Database, Message, MessageBatch } from "@cloudflare/workers-types";
import type { Config } from "../config.ts";
import {
  type DeliveryMessage,
  type DeliveryStatus,
  endDelivery,
  findDelivery,
  handBackToSweep,
  recordAttemptStatements,
  takeLease,
} from "../db/deliveries.ts";
import { findEndpointById } from "../db/webhook-endpoints.ts";
import { errorForLog } from "../errors.ts";
import { post } from "./post.ts";
import { queueDelay, retryDelay } from "./schedule.ts";
import { decryptSecret } from "./secrets.ts";
import { signEvent } from "./signing.ts";
import { checkEndpointUrl } from "./url-rules.ts";
import { eventView } from "./views.ts";

/**
 * The queue consumer: one message is one attempt at one delivery. It is the only place that
 * POSTs to an app. A message is only a reminder; what to do is read from D1: a superseded,
 * finished or not yet due delivery is dropped or put back for later, a lease keeps two
 * consumers from attempting one delivery at once, and each attempt is recorded with its
 * consequences (delivered, the next attempt's time, dead; the endpoint's failures) in one batch.
 */

export const DELIVERY_QUEUE = "checkout-edge-webhooks";
export const DEAD_LETTER_QUEUE = "checkout-edge-webhooks-dlq";

/** An endpoint whose every attempt failed for this long is disabled (SPEC: 5 days). */
const DISABLE_AFTER_SECONDS = 5 * 86_400;
/**
 * How much later than the schedule an attempt may come and still follow the failure before it
 * without a gap: Queues' chained delays, and the sweep that sends a lost message again once it
 * is 15 minutes overdue, running every 10. A longer gap than the schedule's longest wait and
 * this means the endpoint was idle, and its failing time starts again.
 */
const LATENESS_SECONDS = 3600;
/** Longer than an attempt can take (the timeout is at most 60 s) plus its record. */
const LEASE_SECONDS = 90;
/** After the consumer itself failed (D1 down): try the message again after this long. */
const INTERNAL_RETRY_SECONDS = 30;

export interface ConsumerDeps {
  db: D1Database;
  config: Pick<Config, "WEBHOOK_TIMEOUT_MS" | "WEBHOOK_RETRY_SECONDS" | "WEBHOOK_ALLOW_LOOPBACK">;
  encryptionKey: string | undefined;
  now: () => number;
  nowMs: () => number;
}

type Step = { ack: true } | { ack: false; delaySeconds: number };

const ACK: Step = { ack: true };
const later = (seconds: number): Step => ({ ack: false, delaySeconds: queueDelay(seconds) });

function asDeliveryMessage(body: unknown): DeliveryMessage | null {
  const m = body as Partial<DeliveryMessage> | null;
  return m &&
    typeof m.eventId === "string" &&
    typeof m.endpointId === "string" &&
    Number.isInteger(m.generation)
    ? (m as DeliveryMessage)
    : null;
}

async function settle(message: Message<unknown>, work: () => Promise<Step>): Promise<void> {
  try {
    const step = await work();
    if (step.ack) message.ack();
    else message.retry({ delaySeconds: step.delaySeconds });
  } catch (err) {
    // Ours failed, not the endpoint: Queues retries it, and after max_retries dead-letters it.
    console.error(
      JSON.stringify({
        webhooks: "delivery message failed; retried",
        attempts: message.attempts,
        error: errorForLog(err, 300),
      }),
    );
    message.retry({ delaySeconds: INTERNAL_RETRY_SECONDS });
  }
}

export async function consumeDeliveries(
  batch: MessageBatch<unknown>,
  deps: ConsumerDeps,
): Promise<void> {
  await Promise.all(
    batch.messages.map((message) =>
      settle(message, async () => {
        const m = asDeliveryMessage(message.body);
        return m ? attempt(deps, m) : ACK;
      }),
    ),
  );
}

/**
 * Messages Queues gave up on (the consumer kept failing: D1 down, the encryption key wrong):
 * their deliveries go back to the sweep, saying why, instead of dying. Only a receiver that
 * failed every attempt makes a delivery dead; a long outage of ours delays it, and when the
 * service works again it is sent.
 */
export async function consumeDeadLetters(
  batch: MessageBatch<unknown>,
  deps: Pick<ConsumerDeps, "db" | "now">,
): Promise<void> {
  await Promise.all(
    batch.messages.map((message) =>
      settle(message, async () => {
        const m = asDeliveryMessage(message.body);
        if (m) {
          const error = `dead-lettered: the queue gave up on it after ${message.attempts} tries (the service could not process it); the sweep sends it again`;
          await handBackToSweep(deps.db, m, error, deps.now());
        }
        return ACK;
      }),
    ),
  );
}

async function attempt(deps: ConsumerDeps, m: DeliveryMessage): Promise<Step> {
  const found = await findDelivery(deps.db, m.eventId, m.endpointId);
  if (!found) return ACK;
  const { delivery, event } = found;
  if (delivery.generation !== m.generation || delivery.status !== "pending") return ACK;
  const now = deps.now();
  if (delivery.next_attempt_at > now) return later(delivery.next_attempt_at - now);
  if ((delivery.lease_until ?? 0) >= now) return later((delivery.lease_until ?? now) - now + 1);

  const endpoint = await findEndpointById(deps.db, m.endpointId);
  if (!endpoint || endpoint.status === "disabled") {
    await endDelivery(deps.db, m, "canceled", "the endpoint was disabled or deleted", now);
    return ACK;
  }
  const leaseUntil = now + LEASE_SECONDS;
  if (!(await takeLease(deps.db, m, now, leaseUntil))) return later(5);

  const verdict = checkEndpointUrl(endpoint.url, {
    livemode: endpoint.livemode,
    allowLoopback: deps.config.WEBHOOK_ALLOW_LOOPBACK,
  });
  const startedMs = deps.nowMs();
  let outcome: Awaited<ReturnType<typeof post>>;
  if (!verdict.ok) {
    outcome = { statusCode: null, error: `not sent: ${verdict.reason}`, responseExcerpt: null };
  } else {
    const secrets = await Promise.all(
      [
        endpoint.secret,
        ...endpoint.previousSecrets.filter((p) => p.until > now).map((p) => p.secret),
      ].map((stored) => decryptSecret(deps.encryptionKey, endpoint.id, stored)),
    );
    const body = JSON.stringify(eventView(event));
    const headers = await signEvent(secrets, event.id, now, body);
    outcome = await post(verdict.url, headers, body, deps.config.WEBHOOK_TIMEOUT_MS);
  }
  const delivered = outcome.error === null;
  const attemptsMade = delivery.attempts + 1;
  const delay = delivered ? null : retryDelay(deps.config.WEBHOOK_RETRY_SECONDS, attemptsMade);
  const status: DeliveryStatus = delivered ? "delivered" : delay === null ? "dead" : "pending";
  await deps.db.batch(
    recordAttemptStatements(
      deps.db,
      { ...m, leaseUntil },
      { ...outcome, atMs: startedMs, durationMs: Math.max(0, deps.nowMs() - startedMs) },
      { status, nextAttemptAt: delay === null ? now : now + delay },
      now,
      {
        disableAfterSeconds: DISABLE_AFTER_SECONDS,
        idleAfterSeconds: Math.max(...deps.config.WEBHOOK_RETRY_SECONDS) + LATENESS_SECONDS,
      },
    ),
  );
  return status === "pending" && delay !== null ? later(delay) : ACK;
}
