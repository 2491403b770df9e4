import { type EventMatch, recordExpiryStatements } from "../db/checkout-events.ts";
import type { CheckoutRecord } from "../db/checkout-rows.ts";
import { findOverdueOpenCheckouts, postponeExpiryRead } from "../db/checkouts.ts";
import { OutboxBatch } from "../db/outbox.ts";
import { errorForLog } from "../errors.ts";
import { STRIPE_OPERATIONS } from "../messages.ts";
import type { StripeBudget } from "../stripe/budget.ts";
import type { StripeGateway } from "../stripe/client.ts";
import { isResourceMissing, toStripeApiError } from "../stripe/errors.ts";
import type { CheckoutSessionAtStripe } from "../stripe/objects.ts";
import { recordCompletionRead } from "./completion-read.ts";
import { supersededByCompletion } from "./supersede.ts";

export interface ExpiryDeps {
  db: D1Database;
  stripeFor: (livemode: boolean) => StripeGateway;
  now: () => number;
  nowMs: () => number;
}

export interface ExpiryReads {
  /** Sessions read from Stripe. */
  read: number;
  /** Completions found so (their events late or lost), recorded as the events would have. */
  completed: number;
  expired: number;
  /** Overdue checkouts this run found but did not get to (Stripe failing, time spent). */
  left: number;
  /** The batches that wrote app events, to hand to the queue. */
  origins: string[];
}

/** A session that could not be read (not an outage, not unknown to Stripe) waits this long. */
const POSTPONE_SECONDS = 3_600;
/**
 * After this long past its expiry without a read, the checkout is expired here, as Stripe
 * expired it long since: a completion Stripe still sends makes it complete (completed wins).
 */
const GIVE_UP_SECONDS = 86_400;

const matchOf = (record: CheckoutRecord, stripeSessionId: string): EventMatch => ({
  stripeSessionId,
  hash: record.hash,
  livemode: record.livemode,
  account: record.stripeAccount,
  appId: record.appId,
  mode: record.mode,
});

/**
 * Open checkouts past `expires_at`, before any is expired: each session is read from Stripe
 * (with the checkout's connected account), at most `limit` per run. A completion found so is
 * recorded as `checkout.session.completed` records it (its late event then changes nothing),
 * and its reverse-charge follow-up becomes due at once; a session Stripe expired, or does not
 * know, is expired here; one Stripe still shows open (the clocks differ) waits for the next run.
 * A checkout whose session could not be read is never expired: Stripe failing ends the reads
 * (and the run's other Stripe work), anything else postpones that checkout's read an hour.
 */
export async function settleOverdueCheckouts(
  deps: ExpiryDeps,
  budget: StripeBudget,
  limit: number,
): Promise<ExpiryReads> {
  const due = await findOverdueOpenCheckouts(deps.db, deps.now(), limit);
  const result: ExpiryReads = { read: 0, completed: 0, expired: 0, left: 0, origins: [] };
  for (const [i, record] of due.entries()) {
    const sessionId = record.stripeSessionId;
    if (!sessionId) continue;
    if (!budget.mayCall()) {
      result.left = due.length - i;
      break;
    }
    let session: CheckoutSessionAtStripe | null;
    try {
      session = await deps
        .stripeFor(record.livemode)
        .retrieveCheckoutSession(sessionId, record.stripeAccount);
      result.read++;
    } catch (err) {
      if (isResourceMissing(err)) {
        session = null;
      } else {
        logUnread(record, err);
        if (budget.failed(err)) {
          result.left = due.length - i;
          break;
        }
        if (deps.now() - record.expiresAt < GIVE_UP_SECONDS) {
          await postponeExpiryRead(deps.db, record.id, deps.now() + POSTPONE_SECONDS);
          continue;
        }
        console.error(
          JSON.stringify({
            expiry:
              "gave up reading the session for a day; expired here (a late completion still wins)",
            checkoutId: record.id,
          }),
        );
        session = null;
      }
    }
    const status = session ? session.status : "expired";
    if (session && status === "complete") {
      result.origins.push(await recordCompletion(deps, record, session));
      result.completed++;
    } else if (status === "expired") {
      result.origins.push(await recordExpiry(deps, record, sessionId));
      result.expired++;
    }
  }
  return result;
}

async function recordCompletion(
  deps: ExpiryDeps,
  record: CheckoutRecord,
  session: CheckoutSessionAtStripe,
): Promise<string> {
  const now = deps.now();
  // A session does not say when it was completed: before its expiry, and not after now.
  const completedAt = Math.min(now, record.expiresAt);
  const origin = await recordCompletionRead(deps, matchOf(record, session.id), session, {
    completedAt,
    also: supersededByCompletion(deps.db, record, session.id, now),
  });
  console.info(
    JSON.stringify({
      expiry: "completion found by reading the session; its events were late or lost",
      checkoutId: record.id,
      stripeSessionId: session.id,
    }),
  );
  return origin;
}

async function recordExpiry(
  deps: ExpiryDeps,
  record: CheckoutRecord,
  sessionId: string,
): Promise<string> {
  const outbox = new OutboxBatch(deps.db, deps.nowMs());
  await deps.db.batch([
    ...recordExpiryStatements(deps.db, outbox, matchOf(record, sessionId), deps.now()),
    ...outbox.finish(),
  ]);
  return outbox.origin;
}

function logUnread(record: CheckoutRecord, err: unknown): void {
  const error = toStripeApiError(err, record.livemode, STRIPE_OPERATIONS.readCheckoutSession);
  console.error(
    JSON.stringify({
      expiry: "session not read; the checkout stays open",
      checkoutId: record.id,
      error: error.message,
      cause: errorForLog(err, 200),
    }),
  );
}
