/**
 * The outbound webhooks' retry schedule of a load run, the failing receiver's share of
 * failures, and the odds that this schedule still loses a delivery (docs/load.md).
 */

/**
 * WEBHOOK_RETRY_SECONDS for the run, instead of the deployed schedule's three days, so that the
 * run stays bounded: fifteen retries (sixteen attempts) within 78 s. Eleven attempts would lose
 * one delivery in 565,000 to a receiver failing 30 % (0.3^11), one 600 s soak in 40 to 140; with
 * sixteen it is one in 230 million (0.3^16), and the last five only wait for that rare delivery.
 */
export const LOAD_RETRY_SECONDS = [1, 1, 2, 2, 3, 3, 5, 5, 8, 8, 8, 8, 8, 8, 8] as const;

/** The share of attempts the failing receiver answers 503. */
export const FAIL_RATE = 0.3;

/** Attempts a delivery gets: the first and one per entry of the schedule. */
export const ATTEMPTS_PER_DELIVERY = LOAD_RETRY_SECONDS.length + 1;

/** The chance that one delivery to the failing receiver fails every attempt (is dead). */
export const DEAD_ODDS = FAIL_RATE ** ATTEMPTS_PER_DELIVERY;

/** The chance that any of `deliveries` deliveries to the failing receiver is dead. */
export function anyDeadOdds(deliveries: number): number {
  return 1 - (1 - DEAD_ODDS) ** deliveries;
}
