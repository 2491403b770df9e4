/**
 * When a failed delivery is tried again. The schedule is WEBHOOK_RETRY_SECONDS (SPEC: about
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about three days);
 * after the last one fails the delivery is dead (the app can redeliver it).
 */

/** Cloudflare Queues delays a message by at most 12 hours; a longer wait is chained. */
const MAX_QUEUE_DELAY_SECONDS = 43_200;

/** Seconds until the next attempt after `attemptsMade` failed ones, or null: none is left. */
export function retryDelay(schedule: readonly number[], attemptsMade: number): number | null {
  return schedule[attemptsMade - 1] ?? null;
}

/** The delay to give Queues for a wait of `seconds`: at most what it allows, at least 0. */
export function queueDelay(seconds: number): number {
  return Math.min(Math.max(0, Math.ceil(seconds)), MAX_QUEUE_DELAY_SECONDS);
}
