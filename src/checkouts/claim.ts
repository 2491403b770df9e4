import type { Config } from "../config.ts";
import { randomToken } from "../crypto.ts";
import type { CheckoutRecord } from "../db/checkout-rows.ts";
import {
  findCheckoutByState,
  findRefusal,
  type Lease,
  type NewCheckout,
  reserveCheckout,
  takeOverPendingCheckout,
} from "../db/checkouts.ts";
import { ApiError } from "../errors.ts";
import { MESSAGES } from "../messages.ts";
import { newCheckoutHash } from "./hash.ts";

export interface ClaimDeps {
  db: D1Database;
  config: Config;
  now: () => number;
}

/** What a request holds once it has claimed its state. */
export type Claim =
  /** This request holds the lease: it calls Stripe. */
  | { kind: "owner"; record: CheckoutRecord; leaseOwner: string }
  /** The state's checkout is settled (open, complete or expired): answer with it. */
  | { kind: "settled"; record: CheckoutRecord };

/** Everything of a new reservation that the request decides; the claim adds the rest. */
export type ReservationRequest = Omit<
  NewCheckout,
  "id" | "hash" | "createdAt" | "expiresAt" | "leaseOwner" | "leaseExpiresAt"
>;

/**
 * How long a lease lasts: the owner's whole Stripe budget (every SDK attempt, each bounded by
 * the timeout) and a margin. Past it, the owner is presumed gone (a crash, a lost write).
 */
function leaseSeconds(config: Config): number {
  const budgetMs = config.STRIPE_TIMEOUT_MS * (config.STRIPE_MAX_NETWORK_RETRIES + 1);
  return Math.ceil(budgetMs / 1000) + 2;
}

/**
 * Stripe takes an `expires_at` from 30 minutes after the session's creation. A pending row is
 * sent again only while its expiry is at least this far away (a minute of margin for clocks
 * and the request's own time); closer, the reservation is renewed instead.
 */
const MIN_SECONDS_TO_RESEND = 31 * 60;

/**
 * A new hash and expiry for a pending reservation, and so a new Idempotency-Key for its Stripe
 * call: for one whose expiry is too close to be sent again, or whose key Stripe spent on a saved
 * failure. Nobody holds the URL of a session the old key may have made: it is never answered.
 */
export function renewedReservation(deps: ClaimDeps): { hash: string; expiresAt: number } {
  return {
    hash: newCheckoutHash(),
    expiresAt: deps.now() + deps.config.CHECKOUT_EXPIRES_MINUTES * 60,
  };
}

/** Rounds of reserve / wait / take over before a request gives up (each waits at most a lease). */
const MAX_ROUNDS = 4;

const newLease = (deps: ClaimDeps, now: number): Lease => ({
  owner: randomToken(12),
  expiresAt: now + leaseSeconds(deps.config),
});

/**
 * Claims (app, mode, state) for one request. Exactly one request at a time holds a pending
 * checkout's lease and calls Stripe; the others wait for its outcome and answer with it: the
 * session it recorded, or the refusal it kept. A lease released by an attempt that gave up, or
 * run out, is taken over at once, so the retry that a 502/503/504 recommends is served.
 */
export async function claimCheckout(deps: ClaimDeps, request: ReservationRequest): Promise<Claim> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = deps.now();
    const lease = newLease(deps, now);
    const reserved = await reserveCheckout(deps.db, {
      ...request,
      id: crypto.randomUUID(),
      hash: newCheckoutHash(),
      createdAt: now,
      expiresAt: now + deps.config.CHECKOUT_EXPIRES_MINUTES * 60,
      leaseOwner: lease.owner,
      leaseExpiresAt: lease.expiresAt,
    });
    if (reserved) return { kind: "owner", record: reserved, leaseOwner: lease.owner };

    let current = await findCheckoutByState(
      deps.db,
      request.appId,
      request.livemode,
      request.stateDigest,
    );
    if (current && current.requestFingerprint !== request.requestFingerprint) {
      throw new ApiError("conflict", MESSAGES.stateReused);
    }
    if (current?.status === "pending" && current.leaseExpiresAt > now) {
      current = await awaitLease(deps, current);
    }
    // Gone between the insert and the read (freed by a refusal): the state is free again.
    if (!current) continue;
    if (current.requestFingerprint !== request.requestFingerprint) {
      throw new ApiError("conflict", MESSAGES.stateReused);
    }
    if (current.status !== "pending") return { kind: "settled", record: current };

    const takeoverAt = deps.now();
    if (current.leaseExpiresAt > takeoverAt) continue;
    const takeover = newLease(deps, takeoverAt);
    const renewal =
      current.expiresAt - takeoverAt < MIN_SECONDS_TO_RESEND ? renewedReservation(deps) : null;
    const taken = await takeOverPendingCheckout(deps.db, current, takeover, takeoverAt, renewal);
    if (taken) return { kind: "owner", record: taken, leaseOwner: takeover.owner };
  }
  throw new ApiError("stripe_unavailable", MESSAGES.stateBusy, { headers: { "Retry-After": "1" } });
}

/**
 * Waits, with backoff, while another request holds the lease of `pending`. Returns the row once
 * it settled, its lease was released or ran out, or it became another reservation; null when
 * it was freed without a refusal. Throws the refusal that its owner kept, so that concurrent
 * duplicates all answer with Stripe's refusal rather than calling Stripe again.
 */
async function awaitLease(
  deps: ClaimDeps,
  pending: CheckoutRecord,
): Promise<CheckoutRecord | null> {
  let awaited = pending;
  let delayMs = 20;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 1.5, 250);
    const current = await findCheckoutByState(
      deps.db,
      awaited.appId,
      awaited.livemode,
      awaited.stateDigest,
    );
    if (!current || current.hash !== awaited.hash) {
      const refusal = await findRefusal(deps.db, awaited.hash);
      if (refusal) throw new ApiError(refusal.code, refusal.message);
      return current;
    }
    if (current.status !== "pending" || current.leaseExpiresAt <= deps.now()) return current;
    // Taken over by another request: wait for that one now.
    awaited = current;
  }
}
